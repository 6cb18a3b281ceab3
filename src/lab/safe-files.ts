// Writing into a guest's root file system from outside without ever following a guest symlink
// out onto this machine (an absolute symlink in the guest points at the host's own files).
import { lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LabError } from './errors.ts';

/** The absolute path of `rel` inside `root`, checking no existing parent is a symlink. */
export async function insideRoot(root: string, rel: string): Promise<string> {
  const target = path.resolve(root, rel);
  if (!target.startsWith(path.resolve(root) + '/')) {
    throw new LabError(`internal: ${rel} escapes ${root}`);
  }
  let dir = path.dirname(target);
  while (dir.length > path.resolve(root).length) {
    const st = await lstat(dir).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      throw new LabError(`refusing to write ${rel}: ${dir} is a symlink inside the guest`);
    }
    dir = path.dirname(dir);
  }
  return target;
}

export interface WriteOptions {
  mode?: number;
  /** Mode of parent folders this call creates. */
  dirMode?: number;
}

/** Replaces the file (never writing through a symlink), creating parent folders. */
export async function writeInto(root: string, rel: string, content: string, opts: WriteOptions = {}): Promise<void> {
  const target = await insideRoot(root, rel);
  await mkdir(path.dirname(target), { recursive: true, mode: opts.dirMode ?? 0o755 });
  await rm(target, { force: true });
  await writeFile(target, content, { mode: opts.mode ?? 0o644, flag: 'wx' });
}

export async function removeInto(root: string, rel: string): Promise<void> {
  await rm(await insideRoot(root, rel), { force: true, recursive: true });
}

export async function symlinkInto(root: string, rel: string, linkTarget: string): Promise<void> {
  const target = await insideRoot(root, rel);
  await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  await rm(target, { force: true });
  await symlink(linkTarget, target);
}
