// Facts about files and directories on the host.
import { shellQuote } from '../ssh/shell.ts';
import type { Fact } from '../engine/types.ts';

export interface FileState {
  exists: boolean;
  kind?: 'file' | 'directory' | 'symlink' | 'other';
  mode?: string;
  owner?: string;
  group?: string;
  /** Content of a regular file (utf8). */
  content?: string;
  /** Target of a symlink. */
  target?: string;
}

const KINDS: Record<string, FileState['kind']> = {
  'regular file': 'file',
  'regular empty file': 'file',
  directory: 'directory',
  'symbolic link': 'symlink',
};

export function parseFileState(stdout: string, exitCode: number): FileState {
  if (exitCode !== 0) return { exists: false };
  const nl = stdout.indexOf('\n');
  const head = nl < 0 ? stdout : stdout.slice(0, nl);
  const body = nl < 0 ? '' : stdout.slice(nl + 1);
  const [mode, owner, group, ...kindWords] = head.trim().split(' ');
  const kind = KINDS[kindWords.join(' ')] ?? 'other';
  const state: FileState = { exists: true, kind, mode: mode!.padStart(4, '0'), owner, group };
  if (kind === 'file') state.content = Buffer.from(body.trim(), 'base64').toString('utf8');
  if (kind === 'symlink') state.target = body.trim();
  return state;
}

/** stat without following links; a regular file's content comes base64-encoded so any byte survives. */
export function fileFact(path: string): Fact<FileState> {
  const p = shellQuote(path);
  return {
    id: `file:${path}`,
    script: `stat -c '%a %U %G %F' ${p} || exit 1\nif [ -L ${p} ]; then readlink ${p}; elif [ -f ${p} ]; then base64 -w0 ${p}; fi`,
    parse: parseFileState,
  };
}
