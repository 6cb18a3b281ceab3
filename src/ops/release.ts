// A release folder on the host: uploaded as a tarball on stdin, unpacked beside its final place,
// marked complete, then renamed into place, so a half-uploaded release never looks finished.
import { readFileSync } from 'node:fs';
import { fileFact } from '../facts/file.ts';
import type { Change, Op } from '../engine/types.ts';

export const COMPLETE_MARK = '.tandem-complete';

export function releaseUploadScript(dir: string): string {
  const q = `'${dir.replace(/'/g, `'\\''`)}'`;
  return [
    'set -e',
    `rm -rf ${q}.partial`,
    `mkdir -p ${q}.partial`,
    `tar -xzf - -C ${q}.partial --no-same-owner`,
    `chmod 0755 ${q}.partial`,
    `touch ${q}.partial/${COMPLETE_MARK}`,
    `rm -rf ${q}`,
    `mv ${q}.partial ${q}`,
  ].join('\n');
}

export function planRelease(dir: string, tarball: string, complete: boolean): Change | null {
  if (complete) return null;
  return {
    summary: `upload release ${dir}`,
    commands: [{ kind: 'script', script: releaseUploadScript(dir), stdin: readFileSync(tarball), describe: `unpack ${tarball} into ${dir}` }],
    invalidates: [fileFact(`${dir}/${COMPLETE_MARK}`).id],
  };
}

export function release(dir: string, tarball: string): Op {
  const fact = fileFact(`${dir}/${COMPLETE_MARK}`);
  return { id: `release ${dir}`, facts: [fact], plan: (f) => planRelease(dir, tarball, f.get(fact).exists) };
}
