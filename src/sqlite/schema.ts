/**
 * The SQLite schema, as numbered migrations. Migration `n` brings a file from version `n - 1` to `n`;
 * the version is kept in `syncline_meta` (not `PRAGMA user_version`, which belongs to the
 * application when syncline shares its database). Never edit a released migration: append one.
 *
 * Times are `REAL` so any JS number (fractional clocks and TTLs included) round-trips exactly; JSON
 * is kept as the text `JSON.stringify` made, which escapes NUL, so it survives any SQLite tool. Keys,
 * ids, namespaces and inbox bodies are kept escaped by `encodeKey` where they hold NUL or a lone
 * surrogate (SQLite would store U+FFFD for it); ordinary ones as they are.
 *
 * @internal
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE syncline_leases (
    pipeline_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_at REAL NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE syncline_checkpoints (
    pipeline_id TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    run_id TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;

  -- AUTOINCREMENT: a deleted and re-put id must list after every entry, and seqs are never reused.
  CREATE TABLE syncline_dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id TEXT NOT NULL,
    id TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at REAL NOT NULL,
    entry TEXT NOT NULL,
    UNIQUE (pipeline_id, id)
  ) STRICT;
  CREATE INDEX syncline_dead_letters_by_key ON syncline_dead_letters (pipeline_id, key, seq);

  CREATE TABLE syncline_audit (
    seq INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    pipeline_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    type TEXT NOT NULL,
    key TEXT,
    event TEXT NOT NULL
  ) STRICT;
  CREATE INDEX syncline_audit_by_key ON syncline_audit (pipeline_id, key, seq);
  CREATE INDEX syncline_audit_by_run ON syncline_audit (run_id, seq);
  CREATE INDEX syncline_audit_by_time ON syncline_audit (at);

  CREATE TABLE syncline_kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at REAL,
    PRIMARY KEY (namespace, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX syncline_kv_by_expiry ON syncline_kv (expires_at) WHERE expires_at IS NOT NULL;

  -- AUTOINCREMENT: an inbox source's cursor is a seq, so a seq is never reused, also after pruning.
  CREATE TABLE syncline_inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox TEXT NOT NULL,
    id TEXT NOT NULL,
    received_at REAL NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (inbox, id)
  ) STRICT;
  CREATE INDEX syncline_inbox_by_seq ON syncline_inbox (inbox, seq);
  `,
  // 2: lease fencing epochs. The last epoch handed out per pipeline lives in a table of its own, which
  // releaseLease and reset never touch, so epochs only grow; a lease row carries its own epoch (0 for a
  // lease taken before this migration).
  `
  CREATE TABLE syncline_lease_epochs (
    pipeline_id TEXT PRIMARY KEY,
    epoch INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  ALTER TABLE syncline_leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
  `,
];

/** The schema version this code writes and reads. @internal */
export const SCHEMA_VERSION = MIGRATIONS.length;
