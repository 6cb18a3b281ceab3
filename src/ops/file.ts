// File, directory, symlink and absence ops: desired state + the file fact -> a change or nothing.
import { createTwoFilesPatch } from 'diff';
import { fileFact, type FileState } from '../facts/file.ts';
import { Secret } from '../secrets/secret.ts';
import type { Change, Command, Op } from '../engine/types.ts';
import { sh } from '../ssh/shell.ts';

export interface Ownership {
  mode: string;
  owner?: string;
  group?: string;
}

export interface FileArgs extends Ownership {
  path: string;
  content: string | Secret;
  notify?: string[];
  /** Content holds secrets: show no diff, only that it changed. */
  sensitive?: boolean;
}

export function unifiedDiff(path: string, before: string | undefined, after: string): string {
  return createTwoFilesPatch(before === undefined ? '/dev/null' : path, path, before ?? '', after, '', '', { context: 3 }).replace(
    /^(Index: .*\n)?=+\n/,
    '',
  );
}

function normMode(mode: string): string {
  return mode.padStart(4, '0');
}

function attrCommands(path: string, want: Required<Ownership>, have: FileState): { commands: Command[]; notes: string[] } {
  const commands: Command[] = [];
  const notes: string[] = [];
  if (have.owner !== want.owner || have.group !== want.group) {
    commands.push({ kind: 'exec', argv: ['chown', '-h', `${want.owner}:${want.group}`, path] });
    notes.push(`owner ${have.owner}:${have.group} -> ${want.owner}:${want.group}`);
  }
  if (have.mode !== normMode(want.mode)) {
    commands.push({ kind: 'exec', argv: ['chmod', want.mode, path] });
    notes.push(`mode ${have.mode} -> ${normMode(want.mode)}`);
  }
  return { commands, notes };
}

export function planFile(args: FileArgs, have: FileState): Change | null {
  const want = { mode: args.mode, owner: args.owner ?? 'root', group: args.group ?? args.owner ?? 'root' };
  const content = args.content instanceof Secret ? args.content.reveal() : args.content;
  const fact = fileFact(args.path);
  if (have.exists && have.kind === 'file' && have.content === content) {
    const { commands, notes } = attrCommands(args.path, want, have);
    if (commands.length === 0) return null;
    return { summary: `${args.path}: ${notes.join(', ')}`, commands, invalidates: [fact.id] };
  }
  const diff = args.sensitive || args.content instanceof Secret ? undefined : unifiedDiff(args.path, have.content, content);
  return {
    summary: have.exists ? `update ${args.path}${args.sensitive ? ' (secret content, diff hidden)' : ''}` : `create ${args.path}`,
    diff,
    commands: [{ kind: 'put', path: args.path, content: args.content, ...want, backup: (args.notify ?? []).length > 0 }],
    invalidates: [fact.id],
  };
}

export function file(args: FileArgs): Op {
  const fact = fileFact(args.path);
  return { id: `file ${args.path}`, facts: [fact], notify: args.notify, plan: (f) => planFile(args, f.get(fact)) };
}

export interface DirectoryArgs extends Ownership {
  path: string;
}

export function planDirectory(args: DirectoryArgs, have: FileState): Change | null {
  const want = { mode: args.mode, owner: args.owner ?? 'root', group: args.group ?? args.owner ?? 'root' };
  const fact = fileFact(args.path);
  if (have.exists && have.kind === 'directory') {
    const { commands, notes } = attrCommands(args.path, want, have);
    return commands.length ? { summary: `${args.path}/: ${notes.join(', ')}`, commands, invalidates: [fact.id] } : null;
  }
  return {
    summary: `create directory ${args.path}/`,
    commands: [
      { kind: 'exec', argv: ['install', '-d', '-m', want.mode, '-o', want.owner, '-g', want.group, args.path] },
    ],
    invalidates: [fact.id],
  };
}

export function directory(args: DirectoryArgs): Op {
  const fact = fileFact(args.path);
  return { id: `directory ${args.path}`, facts: [fact], plan: (f) => planDirectory(args, f.get(fact)) };
}

export function planAbsent(path: string, have: FileState): Change | null {
  if (!have.exists) return null;
  return {
    summary: `remove ${path}`,
    commands: [{ kind: 'exec', argv: ['rm', '-f', path] }],
    invalidates: [fileFact(path).id],
  };
}

export function absent(path: string, notify?: string[]): Op {
  const fact = fileFact(path);
  return { id: `absent ${path}`, facts: [fact], notify, plan: (f) => planAbsent(path, f.get(fact)) };
}

/** Point a link at a target in one rename (ln -sfn beside it, then mv -T), so it never points nowhere. */
export function relinkScript(link: string, target: string): string {
  return sh`ln -sfn ${target} ${`${link}.tandem-new`}\nmv -Tf ${`${link}.tandem-new`} ${link}`;
}

export function planSymlink(path: string, target: string, have: FileState): Change | null {
  if (have.exists && have.kind === 'symlink' && have.target === target) return null;
  return {
    summary: `link ${path} -> ${target}`,
    // ln -sfn then mv -T: the switch is one atomic rename, never a missing link.
    commands: [
      {
        kind: 'script',
        describe: `ln -sfn ${target} ${path}`,
        script: `set -e\n${relinkScript(path, target)}`,
      },
    ],
    invalidates: [fileFact(path).id],
  };
}

export function symlink(path: string, target: string, notify?: string[]): Op {
  const fact = fileFact(path);
  return { id: `symlink ${path}`, facts: [fact], notify, plan: (f) => planSymlink(path, target, f.get(fact)) };
}
