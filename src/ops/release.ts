// A release folder on the host: uploaded as a tarball on stdin, unpacked beside its final place,
// marked complete, then renamed into place, so a half-uploaded release never looks finished.
import { readFileSync } from 'node:fs';
import { fileFact } from '../facts/file.ts';
import type { Change, Op } from '../engine/types.ts';
import { sh } from '../ssh/shell.ts';

export const COMPLETE_MARK = '.tandem-complete';

export function releaseUploadScript(dir: string): string {
  return [
    'set -e',
    sh`dir=${dir}`,
    'partial="$dir.partial"',
    'rm -rf "$partial"',
    // Stopped half-way (a deadline, a lost link): no half-unpacked folder stays behind.
    `trap 'rm -rf -- "$partial"' EXIT`,
    "trap 'exit 143' HUP INT TERM",
    'mkdir -p "$partial"',
    'tar -xzf - -C "$partial" --no-same-owner',
    'chmod 0755 "$partial"',
    sh`touch "$partial"/${COMPLETE_MARK}`,
    'rm -rf "$dir"',
    'mv "$partial" "$dir"',
    'trap - EXIT',
  ].join('\n');
}

export function planRelease(dir: string, tarball: string, complete: boolean): Change | null {
  if (complete) return null;
  return {
    summary: `upload release ${dir}`,
    commands: [{ kind: 'script', script: releaseUploadScript(dir), stdin: readFileSync(tarball), describe: `unpack ${tarball} into ${dir}`, deadline: 'long' }],
    invalidates: [fileFact(`${dir}/${COMPLETE_MARK}`).id],
  };
}

export function release(dir: string, tarball: string): Op {
  const fact = fileFact(`${dir}/${COMPLETE_MARK}`);
  return { id: `release ${dir}`, facts: [fact], plan: (f) => planRelease(dir, tarball, f.get(fact).exists) };
}
