import { defineConfig } from 'tsup';

/**
 * Output name (relative to `dist/`, without extension) → source barrel.
 *
 * To add a subpath such as `syncline/sqlite`: add `'sqlite/index': 'src/sqlite/index.ts'` here and a matching
 * `"./sqlite": { "types": "./dist/sqlite/index.d.ts", "default": "./dist/sqlite/index.js" }` to the
 * `exports` map in package.json. test/exports.test.ts fails until both sides agree.
 */
export const entry: Readonly<Record<string, string>> = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  'testing/conformance/index': 'src/testing/conformance/index.ts',
  'sqlite/index': 'src/sqlite/index.ts',
  'postgres/index': 'src/postgres/index.ts',
  'redis/index': 'src/redis/index.ts',
  'http/index': 'src/http/index.ts',
  'webhooks/index': 'src/webhooks/index.ts',
};

export default defineConfig({
  entry: { ...entry },
  format: ['esm'],
  platform: 'node',
  target: 'node22',
  outDir: 'dist',
  clean: true,
  // Shared chunks keep one copy of each class across entry points, so `instanceof SynclineError` holds for an
  // error thrown by code reached through `syncline/testing`.
  splitting: true,
  sourcemap: true,
  // tsup 9's rollup-based `dts` forces `declarationMap: false`; declaration maps would need `experimentalDts`
  // (API Extractor), which is not worth a dependency for editor go-to-definition into dist.
  // The d.ts bundler is rollup, pinned in package.json devDependencies to 4.67.4: the registry this project
  // installs from lacks the non-Linux @rollup/rollup-* binaries of later versions, and without them in
  // package-lock.json `npm ci` refuses to run. Unpin once `npm ci` passes with the newer version.
  dts: true,
  // `dependencies` and `peerDependencies` stay external (tsup's default), so users dedupe zod & co.
  // tsup would otherwise rewrite `node:fs` to `fs`.
  removeNodeProtocol: false,
});
