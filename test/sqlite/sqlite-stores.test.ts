import { existsSync, readFileSync, statSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointInvalidError } from '../../src/errors/checkpoint-invalid-error.js';
import { FatalError } from '../../src/errors/fatal-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { RetryableError } from '../../src/errors/retryable-error.js';
import {
  DEFAULT_SQLITE_PATH,
  SqliteCorruptError,
  SqliteSchemaVersionError,
  sqliteStores,
  type SqliteStores,
} from '../../src/sqlite/index.js';
import { MIGRATIONS } from '../../src/sqlite/schema.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import type { DeadLetter } from '../../src/stores/dead-letter-store.js';
import { useTempFiles } from './support.js';

const nextFile = useTempFiles('sqlite-stores');
const t0 = Date.UTC(2026, 0, 1);

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject, but it resolved');
}

function deadLetter(pipelineId: string, id: string): DeadLetter {
  return {
    id,
    pipelineId,
    runId: 'run-1',
    key: `key-${id}`,
    stage: 'sink',
    data: { id },
    error: { name: 'PermanentError', message: 'rejected', errorClass: 'permanent' },
    attempts: [{ attempt: 1, at: t0, errorClass: 'permanent', message: 'rejected' }],
    position: { cursor: null, index: 0 },
    createdAt: t0,
  };
}

/** Fills every store of a bundle with something, and returns what a reopened bundle must give back. */
async function fill(stores: SqliteStores) {
  const lease = await stores.checkpoints.acquireLease('orders', 'worker-1', 60_000);
  const checkpoint = await stores.checkpoints.commit(lease, { cursor: { page: 7 }, expectedVersion: 0, runId: 'run-1' });
  await stores.deadLetters.put([deadLetter('orders', 'dl-1')]);
  await stores.audit.write([{ at: t0, pipelineId: 'orders', runId: 'run-1', type: 'written', key: 'order-1042' }]);
  await stores.kv.set('links', 'order:1042', { invoice: 'INV-7' });
  const { seq } = await stores.inbox.append('payments', { id: 'msg-1', receivedAt: t0, headers: { 'webhook-id': 'msg-1' }, body: '{"a":1}' });
  return { lease, checkpoint, seq };
}

/** Opens the file with a raw connection of its own, runs `fn`, closes it. */
function raw<T>(file: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('sqliteStores: opening and migrating', () => {
  it('creates the directory and a WAL file with every table and schema version 2 at first use', async () => {
    const file = nextFile();
    const stores = sqliteStores({ path: file });
    expect(existsSync(dirname(file))).toBe(false);
    await stores.migrate();
    expect(stores.path).toBe(file);
    await stores.close();
    raw(file, (db) => {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'syncline_%' ORDER BY name").all().map((r) => r['name']);
      expect(tables).toEqual([
        'syncline_audit',
        'syncline_checkpoints',
        'syncline_dead_letters',
        'syncline_inbox',
        'syncline_kv',
        'syncline_lease_epochs',
        'syncline_leases',
        'syncline_meta',
      ]);
      expect(db.prepare("SELECT value FROM syncline_meta WHERE key = 'schema_version'").get()).toEqual({ value: '2' });
      expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    });
  });

  it('migrates on the first store call without migrate(), and migrate() is idempotent', async () => {
    const file = nextFile();
    const stores = sqliteStores({ path: file });
    expect(await stores.checkpoints.load('orders')).toBeUndefined();
    await stores.migrate();
    await stores.migrate();
    await stores.close();
    await sqliteStores({ path: file }).migrate();
  });

  it('initialises an existing empty file (what SQLite itself treats as a new database)', async () => {
    const file = nextFile();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    const stores = sqliteStores({ path: file });
    await fill(stores);
    expect(await stores.checkIntegrity()).toEqual([]);
    await stores.close();
  });

  it('keeps every store’s data across a close and a reopen', async () => {
    const file = nextFile();
    const clock = new FakeClock({ now: t0 });
    const first = sqliteStores({ path: file, clock });
    const { checkpoint, seq } = await fill(first);
    await first.close();

    const again = sqliteStores({ path: file, clock });
    expect(await again.checkpoints.load('orders')).toEqual(checkpoint);
    // The lease survives too: a restarted runner is turned away until it expires.
    expect(await rejectionOf(again.checkpoints.acquireLease('orders', 'worker-2', 60_000))).toMatchObject({ code: 'LEASE_HELD', holder: 'worker-1' });
    expect(await again.deadLetters.get('orders', 'dl-1')).toEqual(deadLetter('orders', 'dl-1'));
    expect(await again.audit.query({ pipelineId: 'orders', key: 'order-1042' })).toHaveLength(1);
    expect(await again.kv.get('links', 'order:1042')).toEqual({ value: { invoice: 'INV-7' }, version: 1 });
    expect(await again.inbox.read('payments', 0, 10)).toEqual([{ id: 'msg-1', receivedAt: t0, headers: { 'webhook-id': 'msg-1' }, body: '{"a":1}', seq }]);
    await again.close();
  });

  it('rejects a file from a newer syncline with SqliteSchemaVersionError and leaves it untouched', async () => {
    const file = nextFile();
    const stores = sqliteStores({ path: file });
    await fill(stores);
    await stores.close();
    raw(file, (db) => db.exec("UPDATE syncline_meta SET value = '99' WHERE key = 'schema_version'"));
    const before = readFileSync(file);

    const newer = sqliteStores({ path: file });
    const error = await rejectionOf(newer.checkpoints.acquireLease('orders', 'worker-2', 60_000));
    expect(error).toBeInstanceOf(SqliteSchemaVersionError);
    expect(error).toMatchObject({ name: 'SqliteSchemaVersionError', code: 'STORE_VERSION', errorClass: 'fatal', path: file, foundVersion: 99, supportedVersion: 2, pipelineId: 'orders' });
    const message = (error as Error).message;
    expect(message).toContain(file);
    expect(message).toContain('schema version 99');
    expect(message).toContain('up to 2');
    expect(message).toContain('pipeline `orders`');
    expect(message).toMatch(/Upgrade syncline/);
    await expect(newer.migrate()).rejects.toBeInstanceOf(SqliteSchemaVersionError);
    expect(readFileSync(file).equals(before)).toBe(true);
    raw(file, (db) => expect(db.prepare('SELECT count(*) AS n FROM syncline_checkpoints').get()).toEqual({ n: 1 }));
  });

  it('rejects a truncated file with SqliteCorruptError naming the file and the fix, and does not touch it', async () => {
    const file = nextFile();
    const stores = sqliteStores({ path: file });
    await stores.audit.write(Array.from({ length: 2_000 }, (_, i) => ({ at: t0 + i, pipelineId: 'orders', runId: 'run-1', type: 'written' as const, key: `order-${i}` })));
    await fill(stores);
    await stores.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const size = statSync(file).size;

    const reopened = sqliteStores({ path: file });
    const error = await rejectionOf(reopened.checkpoints.acquireLease('orders', 'worker-2', 60_000));
    expect(error).toBeInstanceOf(SqliteCorruptError);
    expect(error).toMatchObject({ name: 'SqliteCorruptError', errorClass: 'fatal', path: file, sqliteCode: 'SQLITE_CORRUPT', operation: 'checkpoints.acquireLease', pipelineId: 'orders' });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/Restore the file from a backup, or move it/);
    expect(statSync(file).size).toBe(size);
  });

  it('rejects a file that is not SQLite with SqliteCorruptError (SQLITE_NOTADB) and never overwrites it', async () => {
    const file = nextFile();
    mkdirSync(dirname(file), { recursive: true });
    const garbage = 'these are my notes, not a database\n'.repeat(200);
    writeFileSync(file, garbage);
    const stores = sqliteStores({ path: file });
    for (const attempt of [stores.migrate(), stores.audit.query({ pipelineId: 'orders' }), stores.kv.get('ns', 'k')]) {
      const error = await rejectionOf(attempt);
      expect(error).toBeInstanceOf(SqliteCorruptError);
      expect(error).toMatchObject({ sqliteCode: 'SQLITE_NOTADB', path: file });
      expect((error as Error).message).toMatch(/not a SQLite database/);
    }
    expect(readFileSync(file, 'utf8')).toBe(garbage);
  });

  it('upgrades a version 1 file in place: data and a held lease survive, and epochs work from then on', async () => {
    const file = nextFile();
    mkdirSync(dirname(file), { recursive: true });
    // A file as syncline with schema version 1 left it: its tables, its version row, a held lease.
    raw(file, (db) => {
      db.exec(MIGRATIONS[0] ?? '');
      db.exec("CREATE TABLE syncline_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID; INSERT INTO syncline_meta VALUES ('schema_version', '1')");
      db.prepare("INSERT INTO syncline_leases (pipeline_id, owner, token, expires_at) VALUES ('orders', 'old-worker', 'old-token', ?)").run(t0 + 60_000);
      db.prepare("INSERT INTO syncline_checkpoints (pipeline_id, cursor, version, updated_at, run_id) VALUES ('orders', '{\"page\":7}', 3, ?, 'run-old')").run(t0);
    });

    const clock = new FakeClock({ now: t0 });
    const stores = sqliteStores({ path: file, clock });
    expect(await stores.checkpoints.load('orders')).toMatchObject({ cursor: { page: 7 }, version: 3, runId: 'run-old' });
    expect(await rejectionOf(stores.checkpoints.acquireLease('orders', 'new-worker', 60_000))).toMatchObject({ code: 'LEASE_HELD', holder: 'old-worker' });
    // The lease taken before the upgrade has epoch 0; the first one after it beats it.
    const taken = await stores.checkpoints.acquireLease('orders', 'new-worker', 60_000, undefined, { takeOverFrom: 'old-worker' });
    expect(taken.epoch).toBeGreaterThanOrEqual(1);
    expect(await stores.checkpoints.commit(taken, { cursor: { page: 8 }, expectedVersion: 3, runId: 'run-new' })).toMatchObject({ version: 4 });
    await stores.checkpoints.releaseLease(taken);
    await stores.checkpoints.reset('orders');
    await stores.close();

    const reopened = sqliteStores({ path: file, clock });
    expect((await reopened.checkpoints.acquireLease('orders', 'new-worker', 60_000)).epoch).toBeGreaterThan(taken.epoch);
    expect((await reopened.checkpoints.acquireLease('invoices', 'new-worker', 60_000)).epoch).toBe(1);
    expect(await reopened.checkIntegrity()).toEqual([]);
    await reopened.close();
    raw(file, (db) => expect(db.prepare("SELECT value FROM syncline_meta WHERE key = 'schema_version'").get()).toEqual({ value: '2' }));
  });

  it('rejects an unreadable schema version as damage, not as version 0', async () => {
    const file = nextFile();
    await sqliteStores({ path: file }).migrate();
    raw(file, (db) => db.exec("UPDATE syncline_meta SET value = 'banana' WHERE key = 'schema_version'"));
    const error = await rejectionOf(sqliteStores({ path: file }).migrate());
    expect(error).toBeInstanceOf(SqliteCorruptError);
    expect((error as Error).message).toContain('`banana`');
  });
});

describe('sqliteStores: damaged rows', () => {
  it('a checkpoint row that is not JSON is CheckpointInvalidError naming the pipeline and the fix', async () => {
    const file = nextFile();
    const stores = sqliteStores({ path: file });
    await fill(stores);
    raw(file, (db) => db.exec("UPDATE syncline_checkpoints SET cursor = '{\"page\": 7' WHERE pipeline_id = 'orders'"));
    const error = await rejectionOf(stores.checkpoints.load('orders'));
    expect(error).toBeInstanceOf(CheckpointInvalidError);
    expect(error).toMatchObject({ code: 'CHECKPOINT_INVALID', pipelineId: 'orders' });
    expect((error as CheckpointInvalidError).problems[0]).toMatch(/stored cursor is not JSON/);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain('checkpoints.reset(pipelineId)');
    // An operator's reset is the way out, and works.
    await stores.checkpoints.reset('orders');
    expect(await stores.checkpoints.load('orders')).toBeUndefined();
    await stores.close();
  });

  it('a dead-letter or audit row that is not JSON is SqliteCorruptError naming the row', async () => {
    const file = nextFile();
    const stores = sqliteStores({ path: file });
    await fill(stores);
    raw(file, (db) => {
      db.exec("UPDATE syncline_dead_letters SET entry = 'garbage' WHERE id = 'dl-1'");
      db.exec("UPDATE syncline_audit SET event = 'garbage'");
    });
    const dl = await rejectionOf(stores.deadLetters.get('orders', 'dl-1'));
    expect(dl).toBeInstanceOf(SqliteCorruptError);
    expect((dl as Error).message).toContain('dead letter `dl-1` of pipeline `orders`');
    expect(await rejectionOf(stores.audit.query({ pipelineId: 'orders' }))).toBeInstanceOf(SqliteCorruptError);
    await stores.close();
  });
});

describe('sqliteStores: concurrency', () => {
  it('of two connections on one file contending for a lease exactly one wins, and the other sees the holder', async () => {
    const file = nextFile();
    const clock = new FakeClock({ now: t0 });
    const a = sqliteStores({ path: file, clock });
    const b = sqliteStores({ path: file, clock });
    const results = await Promise.allSettled([
      a.checkpoints.acquireLease('orders', 'process-a', 30_000),
      b.checkpoints.acquireLease('orders', 'process-b', 30_000),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ owner: string }>).value.owner;
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'LEASE_HELD', holder: winner });
    // The loser cannot commit with a forged lease either; after expiry it takes over.
    await clock.advance(30_000);
    const taken = await b.checkpoints.acquireLease('orders', 'process-b', 30_000);
    await a.close();
    expect(await b.checkpoints.commit(taken, { cursor: 1, expectedVersion: 0, runId: 'run-b' })).toMatchObject({ version: 1 });
    await b.close();
  });

  it('a write that waits past busyTimeoutMs for another connection’s lock fails with a retryable error and changes nothing', async () => {
    const file = nextFile();
    const stores = sqliteStores({ path: file, busyTimeoutMs: 0 });
    await stores.migrate();
    const other = new DatabaseSync(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const error = await rejectionOf(stores.kv.set('ns', 'k', 1));
      expect(error).toBeInstanceOf(RetryableError);
      expect((error as Error).message).toMatch(/locked by another connection.*busyTimeoutMs/);
      // Reads are not blocked by a writer in WAL mode.
      expect(await stores.kv.get('ns', 'k')).toBeUndefined();
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await stores.kv.set('ns', 'k', 1)).toEqual({ ok: true, version: 1 });
    await stores.close();
  });
});

describe('sqliteStores: options and lifecycle', () => {
  it('defaults to ./.syncline/state.db in the working directory, without touching it before first use', () => {
    const stores = sqliteStores();
    expect(DEFAULT_SQLITE_PATH).toBe('./.syncline/state.db');
    expect(stores.path).toBe(resolve('.syncline/state.db'));
  });

  it('uses a connection passed as `database`, sets WAL and synchronous on it, and leaves it open', async () => {
    const file = nextFile();
    mkdirSync(dirname(file), { recursive: true });
    for (const [synchronous, level] of [['normal', 1], ['full', 2]] as const) {
      const database = new DatabaseSync(file);
      const stores = sqliteStores({ database, synchronous });
      expect(stores.path).toBe(file);
      await stores.migrate();
      expect(database.prepare('PRAGMA synchronous').get()).toEqual({ synchronous: level });
      expect(database.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
      await stores.close();
      expect(database.isOpen).toBe(true);
      database.close();
    }
  });

  it('rejects bad options with InvalidOptionsError naming the option', () => {
    const cases: [unknown, RegExp][] = [
      [{ synchronous: 'off' }, /`options.synchronous`/],
      [{ busyTimeoutMs: -1 }, /`options.busyTimeoutMs`/],
      [{ path: '' }, /`options.path`/],
      [{ database: {} }, /`options.database`/],
      [{ clock: { now: () => 0 } }, /`options.clock`/],
      [{ pth: 'x.db' }, /unknown option/],
      [{ path: 'x.db', database: new DatabaseSync(':memory:') }, /either `options.path` or `options.database`/],
    ];
    for (const [options, message] of cases) {
      expect(() => sqliteStores(options as never)).toThrow(InvalidOptionsError);
      expect(() => sqliteStores(options as never)).toThrow(message);
    }
  });

  it('a path that cannot be opened (a directory) is a FatalError naming the path', async () => {
    const file = nextFile();
    mkdirSync(file, { recursive: true });
    const error = await rejectionOf(sqliteStores({ path: file }).checkpoints.load('orders'));
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ errorClass: 'fatal' });
    expect((error as Error).message).toContain(`could not open the SQLite store \`${file}\``);
  });

  it('after close() every store call rejects with a FatalError saying so; close() is idempotent', async () => {
    const stores = sqliteStores({ path: nextFile() });
    await stores.migrate();
    await stores.close();
    await stores.close();
    const error = await rejectionOf(stores.checkpoints.load('orders'));
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/`checkpoints.load` was called after `close\(\)`/);
  });

  it('passes PRAGMA integrity_check after heavy use of every store', async () => {
    const file = nextFile();
    const clock = new FakeClock({ now: t0 });
    const stores = sqliteStores({ path: file, clock });
    let lease = await stores.checkpoints.acquireLease('p', 'w', 60_000);
    for (let version = 0; version < 200; version++) {
      await stores.checkpoints.commit(lease, { cursor: { offset: version }, expectedVersion: version, runId: 'r' });
      if (version % 50 === 0) lease = await stores.checkpoints.renewLease(lease, 60_000);
    }
    await stores.deadLetters.put(Array.from({ length: 300 }, (_, i) => deadLetter('p', `dl-${i}`)));
    await stores.deadLetters.delete('p', Array.from({ length: 150 }, (_, i) => `dl-${i * 2}`));
    await stores.audit.write(Array.from({ length: 3_000 }, (_, i) => ({ at: t0 + i, pipelineId: 'p', runId: 'r', type: 'written' as const, key: `k${i}` })));
    await stores.audit.deleteOlderThan(t0 + 1_500);
    for (let i = 0; i < 100; i++) await stores.kv.set('ns', `k${i}`, { i }, i % 2 === 0 ? { ttlMs: 10 } : {});
    for (let i = 0; i < 100; i++) await stores.inbox.append('in', { id: `m${i}`, receivedAt: t0, headers: {}, body: 'x'.repeat(i * 50) });
    await stores.inbox.prune('in', 50, t0 + 1);
    expect(await stores.checkIntegrity()).toEqual([]);
    await stores.close();
    raw(file, (db) => expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]));
  });
});

describe('sqliteStores: retention', () => {
  it('audit.deleteOlderThan deletes more rows than one chunk holds, and counts them all', async () => {
    const stores = sqliteStores({ path: nextFile() });
    const events = Array.from({ length: 12_345 }, (_, i) => ({ at: t0 - 1 - i, pipelineId: 'p', runId: 'r', type: 'written' as const }));
    await stores.audit.write(events);
    await stores.audit.write([{ at: t0, pipelineId: 'p', runId: 'r', type: 'skipped' }]);
    expect(await stores.audit.deleteOlderThan(t0)).toBe(12_345);
    expect(await stores.audit.query({ pipelineId: 'p' })).toEqual([{ at: t0, pipelineId: 'p', runId: 'r', type: 'skipped' }]);
    await stores.close();
  });

  it('kv.deleteExpired removes the rows of expired entries only', async () => {
    const file = nextFile();
    const clock = new FakeClock({ now: t0 });
    const stores = sqliteStores({ path: file, clock });
    await stores.kv.set('ns', 'short', 1, { ttlMs: 1_000 });
    await stores.kv.set('ns', 'long', 1, { ttlMs: 5_000 });
    await stores.kv.set('ns', 'forever', 1);
    await clock.advance(1_000);
    expect(await stores.kv.deleteExpired()).toBe(1);
    expect(await stores.kv.deleteExpired()).toBe(0);
    expect((await stores.kv.list('ns')).map((e) => e.key)).toEqual(['forever', 'long']);
    raw(file, (db) => expect(db.prepare('SELECT count(*) AS n FROM syncline_kv').get()).toEqual({ n: 2 }));
    await stores.close();
  });
});
