#!/usr/bin/env node
// Entry point for the `tandem` bin: runs the JavaScript that `npm install` (its `prepare` step,
// `npm run build`) bundled into dist/. When dist/ is missing or older than a source file (the
// sources were edited or pulled since the last build), it runs the sources through tsx instead,
// slower to start but never stale, and says so on stderr.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** Why dist/ cannot be trusted (missing, or the first source newer than it), if it can't. */
function staleBecause() {
  const built = statSync(path.join(root, 'dist/main.js'), { throwIfNoEntry: false });
  if (!built) return 'dist/ is missing';
  for (const folder of ['src', 'recipes']) {
    let entries;
    try {
      entries = readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true });
    } catch {
      continue; // an installed copy without its sources
    }
    for (const e of entries) {
      if (!e.isFile() || !e.name.endsWith('.ts')) continue;
      const source = path.join(e.parentPath ?? e.path, e.name);
      if (statSync(source).mtimeMs > built.mtimeMs) return `dist/ is older than ${path.relative(root, source)}`;
    }
  }
  return undefined;
}

const stale = staleBecause();
if (stale === undefined) {
  await import('../dist/main.js');
} else {
  process.stderr.write(`tandem: ${stale}; running the sources (slower start). \`npm run build\` compiles them.\n`);
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
