// `npm run build` (and npm install, through `prepare`): bundles the CLI, src/ and recipes/, into
// dist/ for bin/tandem.js. One file per verb's work (code splitting), so `tandem --help` loads
// only the verbs' flags; a bundle loads about a quarter less code than the same modules one file
// each (bench/README.md). ssh2 (native add-ons) and mysql2 stay in node_modules. dist/meta.json
// tells which sources each output file holds (test/integration/startup.test.ts reads it).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const outdir = path.join(root, 'dist');
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  external: ['ssh2', 'mysql2'],
  // The CommonJS packages bundled (ejs, node-ssh...) call require() for Node's own modules.
  banner: { js: "import { createRequire as __tandemRequire } from 'node:module'; const require = __tandemRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(result.metafile));
