import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Examples import the public entry points by name, as users do; tests resolve them to the source.
    alias: [
      { find: /^syncline\/testing\/conformance$/, replacement: src('testing/conformance/index.ts') },
      { find: /^syncline\/testing$/, replacement: src('testing/index.ts') },
      { find: /^syncline\/(sqlite|postgres|redis|http|webhooks)$/, replacement: src('$1/index.ts') },
      { find: /^syncline$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
