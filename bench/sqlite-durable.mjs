// The durable variant's SQLite side: the hand-written loop's own schema and statements, the temp files
// both arms use, and the check, after the timed part, that every record left its audit row and the last
// checkpoint names the end of the stream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * The tables the hand-written loop writes, with the columns and indexes of syncline's SQLite schema
 * (src/sqlite/schema.ts, migration 1): the loop pays the same index maintenance per audit row.
 */
export const LOOP_SCHEMA = `
  CREATE TABLE checkpoints (
    pipeline_id TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    run_id TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id TEXT NOT NULL,
    id TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at REAL NOT NULL,
    entry TEXT NOT NULL,
    UNIQUE (pipeline_id, id)
  ) STRICT;
  CREATE INDEX dead_letters_by_key ON dead_letters (pipeline_id, key, seq);

  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    pipeline_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    type TEXT NOT NULL,
    key TEXT,
    event TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_by_key ON audit (pipeline_id, key, seq);
  CREATE INDEX audit_by_run ON audit (run_id, seq);
  CREATE INDEX audit_by_time ON audit (at);
`;

export const LOOP_SQL = {
  insertAudit: 'INSERT INTO audit (at, pipeline_id, run_id, type, key, event) VALUES (?, ?, ?, ?, ?, ?)',
  insertDeadLetter: 'INSERT INTO dead_letters (pipeline_id, id, key, created_at, entry) VALUES (?, ?, ?, ?, ?)',
  upsertCheckpoint:
    'INSERT INTO checkpoints (pipeline_id, cursor, version, updated_at, run_id) VALUES (?, ?, ?, ?, ?) ' +
    'ON CONFLICT (pipeline_id) DO UPDATE SET cursor = excluded.cursor, version = excluded.version, ' +
    'updated_at = excluded.updated_at, run_id = excluded.run_id',
};

/** A fresh directory under the OS temp dir (`TMPDIR`) holding `state.db`; `remove()` deletes it with its -wal and -shm. */
export function tempDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-bench-'));
  return { path: join(dir, 'state.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens `path` as syncline's default does: WAL, `synchronous=NORMAL`, a busy timeout. */
export function openLikeSyncline(path) {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 5000');
  const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
  if (mode !== 'wal') throw new Error(`${path}: journal_mode is ${mode}, expected wal`);
  db.exec('PRAGMA synchronous = NORMAL');
  return db;
}

/**
 * After a run (untimed): the audit rows of `pipelineId` in `auditTable`, and a throw unless the stored
 * cursor is `{ offset: total }`, i.e. the last page was committed.
 */
export function verifyDurable(path, { pipelineId, total, auditTable, checkpointTable }) {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare(`SELECT count(*) AS n FROM ${auditTable} WHERE pipeline_id = ?`).get(pipelineId)?.n;
    const cursor = db.prepare(`SELECT cursor FROM ${checkpointTable} WHERE pipeline_id = ?`).get(pipelineId)?.cursor;
    if (cursor !== JSON.stringify({ offset: total })) {
      throw new Error(`${checkpointTable}: the committed cursor of ${pipelineId} is ${cursor}, expected {"offset":${total}}`);
    }
    return Number(rows);
  } finally {
    db.close();
  }
}
