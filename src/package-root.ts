// The folder tandem is installed in (the one with its package.json), whether this module runs
// from the sources (src/) or compiled (dist/src/): templates/ and examples/ are read from there.
import { existsSync } from 'node:fs';
import path from 'node:path';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: tandem's files are incomplete`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);
