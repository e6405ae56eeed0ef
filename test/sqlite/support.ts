import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A temporary directory for this test file, removed after its tests, and a fresh file name in it per
 * call, so every test gets a store file of its own.
 */
export function useTempFiles(prefix: string): () => string {
  const dir = mkdtempSync(join(tmpdir(), `syncline-${prefix}-`));
  let n = 0;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => join(dir, `store-${++n}`, 'state.db');
}
