#!/usr/bin/env node
// Runs a TypeScript example as a newcomer would see it, on every supported Node (22.13+): bundles the
// entry with esbuild — `syncline` and its subpaths resolve to this repository's source, dependencies stay
// external — into node_modules/.cache, then runs it in this process's Node with the remaining arguments.
// Usage: node scripts/run-example.mjs examples/orders-to-invoices/main.ts [args…]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-example.mjs <example entry .ts> [args…]');
  process.exit(2);
}
const outDir = join(root, 'node_modules', '.cache', 'syncline-examples');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, `${basename(dirname(resolve(entry)))}-${basename(entry, '.ts')}.mjs`);
const subpaths = ['testing/conformance', 'testing', 'sqlite', 'postgres', 'redis', 'http', 'webhooks'];
await build({
  entryPoints: [resolve(root, entry)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  outfile,
  packages: 'external',
  alias: Object.fromEntries([['syncline', join(root, 'src/index.ts')], ...subpaths.map((s) => [`syncline/${s}`, join(root, `src/${s}/index.ts`)])]),
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, [outfile, ...args], { stdio: 'inherit', cwd: process.cwd() });
process.exit(run.status ?? 1);
