#!/usr/bin/env node
// Entry point for the `tandem` bin: runs the JavaScript that `npm install` (its `prepare` step,
// `npm run build`) compiled into dist/. When dist/ is missing or older than a source file (the
// sources were edited or pulled since the last build), it runs the sources through tsx instead,
// slower to start but never stale, and says so on stderr.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** The first source (src/, recipes/) whose compiled file in dist/ is missing or older, if any. */
function staleSource() {
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
      const rel = path.relative(root, source);
      const built = statSync(path.join(root, 'dist', rel.replace(/\.ts$/, '.js')), { throwIfNoEntry: false });
      if (!built || built.mtimeMs < statSync(source).mtimeMs) return rel;
    }
  }
  return undefined;
}

const stale = staleSource();
if (stale === undefined) {
  await import('../dist/src/cli/main.js');
} else {
  process.stderr.write(`tandem: dist/ is missing or older than ${stale}; running the sources (slower start). \`npm run build\` compiles them.\n`);
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
