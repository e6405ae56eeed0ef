/** The store backends the crash tests run against, opened the same way by the child and the checker. */
import { DatabaseSync } from 'node:sqlite';
import { existsSync } from 'node:fs';
import type { Stores } from '../../src/index.js';
import { sqliteStores } from '../../src/sqlite/index.js';
import { postgresStores } from '../../src/postgres/index.js';

export type BackendConfig =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };

export async function openStores(backend: BackendConfig): Promise<{ stores: Stores; close: () => Promise<void> }> {
  if (backend.kind === 'sqlite') {
    const stores = sqliteStores({ path: backend.path });
    return { stores, close: () => stores.close() };
  }
  const stores = postgresStores({ connectionString: backend.url, schema: backend.schema });
  return { stores, close: () => stores.close() };
}

/** `PRAGMA integrity_check` of the SQLite file ('ok' when sound); PostgreSQL guards itself. */
export async function integrityCheck(backend: BackendConfig): Promise<string> {
  if (backend.kind !== 'sqlite' || !existsSync(backend.path)) return 'ok';
  const db = new DatabaseSync(backend.path, { readOnly: true });
  try {
    const rows = db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check).join('; ');
  } finally {
    db.close();
  }
}
