import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Runs the deliberately broken connectors of broken.kit.ts, only when kits-catch-bugs.test.ts asks for it.
export default defineConfig({
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  test: {
    include: ['test/conformance/broken/*.kit.ts'],
    testTimeout: 20_000,
  },
});
