#!/usr/bin/env node
// Audit trace lookup by record key over 1,000,000 audit rows ("what happened to order 1042?"), in SQLite
// and in PostgreSQL, through `audit.query({ pipelineId, key })`: the call `pipeline.trace(key)` makes.
// `npm run bench` runs it (BENCH_ONLY=lookup runs only it); it also runs alone: `node bench/audit-lookup.mjs`.
//
// Data, the same in both: AUDIT_ROWS rows over AUDIT_ROWS / 4 keys, 4 events per key (3 `retried`, then
// `written`), a key's 4 events a quarter of the table apart, as retries and re-runs spread them in time.
//
// SQLite: a fresh file in the OS temp dir (WAL, synchronous=NORMAL, the defaults of `sqliteStores()`), the
// rows written through the store's own `audit.write` in batches of 5,000 (so the real schema and indexes
// are measured, and the write rate with them), the file deleted at the end.
// PostgreSQL: a fresh schema migrated by `postgresStores()`, the rows generated server-side in one
// INSERT … SELECT FROM generate_series into the same table (with its indexes), then ANALYZE; the schema is
// dropped at the end, also on failure. Skipped, with a line saying so, when the server is unreachable.
//
// Each backend: 10 warm-up lookups, then LOOKUPS timed lookups of random keys (fixed seed), one after
// another, each checked to return the key's 4 events. Reported: median, p95, min and max wall time per
// lookup, and the plan. The last line of stdout is the whole result as JSON (bench/run.mjs reads it).
//
// Environment:
//   AUDIT_ROWS        rows per backend                    (default 1000000)
//   LOOKUPS           timed lookups per backend           (default 100)
//   AUDIT_BACKENDS    comma-separated: sqlite,postgres    (default both)
//   PG_URL            the database                        (default postgres://postgres@127.0.0.1:5432/test)
//   BENCH_DIST        another build's index.js; its sqlite/ and postgres/ entries are used
import { statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDatabase } from './sqlite-durable.mjs';

const distDir = process.env.BENCH_DIST ? dirname(process.env.BENCH_DIST) : join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS_PER_KEY = 4;
const ROWS = positiveInt('AUDIT_ROWS', 1_000_000);
const LOOKUPS = positiveInt('LOOKUPS', 100);
const BACKENDS = new Set((process.env.AUDIT_BACKENDS ?? 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean));
const KEYS = Math.floor(ROWS / EVENTS_PER_KEY);
const PIPELINE_ID = 'orders';
const BASE_AT = Date.UTC(2026, 0, 1);
const WARM_UP = 10;
/** Events per `audit.write` call when filling a table. */
const WRITE_BATCH = 5_000;

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < EVENTS_PER_KEY) {
    console.error(`${name} must be an integer ≥ ${EVENTS_PER_KEY}, got ${JSON.stringify(raw)}.`);
    process.exit(2);
  }
  return value;
}

/** Audit event `i` of the generated table: the same rows the PostgreSQL INSERT … SELECT makes. */
function eventAt(i) {
  const attempt = 1 + Math.floor(i / KEYS);
  return {
    at: BASE_AT + i,
    pipelineId: PIPELINE_ID,
    runId: `run-${Math.floor(i / 10_000)}`,
    type: attempt < EVENTS_PER_KEY ? 'retried' : 'written',
    key: `order-${i % KEYS}`,
    attempt,
    durationMs: 12,
  };
}

/** A small seeded PRNG (mulberry32), so every run looks up the same keys. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Warm-up, then LOOKUPS timed `audit.query({ pipelineId, key })` calls, each checked. */
async function timeLookups(audit) {
  const next = random(1042);
  const pick = () => `order-${Math.floor(next() * KEYS)}`;
  for (let i = 0; i < WARM_UP; i++) await audit.query({ pipelineId: PIPELINE_ID, key: pick(), limit: 1000 });
  const times = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const key = pick();
    const start = performance.now();
    const events = await audit.query({ pipelineId: PIPELINE_ID, key, limit: 1000 });
    times.push(performance.now() - start);
    if (events.length !== EVENTS_PER_KEY || events.some((e) => e.key !== key) || events.at(-1)?.type !== 'written') {
      throw new Error(`lookup of ${key} returned ${events.length} events (${events.map((e) => e.type).join(', ')}), expected ${EVENTS_PER_KEY} ending in written`);
    }
  }
  times.sort((a, b) => a - b);
  return { lookups: LOOKUPS, medianMs: quantile(times, 0.5), p95Ms: quantile(times, 0.95), minMs: times[0], maxMs: times.at(-1) };
}

const ms = (value) => `${value.toFixed(3)} ms`;
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

function printLookups(label, r) {
  console.log(`${label}: trace lookup { pipelineId, key } × ${r.lookups}: median ${ms(r.medianMs)}, p95 ${ms(r.p95Ms)}, min ${ms(r.minMs)}, max ${ms(r.maxMs)}`);
}

async function sqlite() {
  const { sqliteStores } = await import(pathToFileURL(join(distDir, 'sqlite', 'index.js')).href);
  const file = tempDatabase();
  const stores = sqliteStores({ path: file.path });
  try {
    await stores.migrate();
    const writeStart = performance.now();
    for (let offset = 0; offset < ROWS; offset += WRITE_BATCH) {
      const end = Math.min(ROWS, offset + WRITE_BATCH);
      const events = new Array(end - offset);
      for (let i = offset; i < end; i++) events[i - offset] = eventAt(i);
      await stores.audit.write(events);
    }
    const writeMs = performance.now() - writeStart;
    const lookups = await timeLookups(stores.audit);
    // By key alone the (pipeline_id, key, seq) index does not apply: a scan, timed a few times for scale.
    const scans = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await stores.audit.query({ key: `order-${i * 7919}`, limit: 1000 });
      scans.push(performance.now() - start);
    }
    await stores.close();
    const db = new DatabaseSync(file.path, { readOnly: true });
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT seq, event FROM syncline_audit WHERE pipeline_id = ? AND key = ? ORDER BY seq LIMIT ?')
      .all(PIPELINE_ID, 'order-1042', 1000)
      .map((row) => row.detail);
    const rows = Number(db.prepare('SELECT count(*) AS n FROM syncline_audit').get().n);
    const version = db.prepare('SELECT sqlite_version() AS v').get().v;
    db.close();
    const size = ['', '-wal'].reduce((sum, suffix) => sum + (statSync(file.path + suffix, { throwIfNoEntry: false })?.size ?? 0), 0);
    const result = {
      version,
      rows,
      fileBytes: size,
      writeMs: Math.round(writeMs),
      storeWriteEventsPerSecond: Math.round(rows / (writeMs / 1000)),
      ...lookups,
      keyOnlyScanMedianMs: [...scans].sort((a, b) => a - b)[1],
      plan,
    };
    console.log(`\nSQLite ${version} (node:sqlite, WAL, synchronous=NORMAL), file in ${dirname(dirname(file.path))}`);
    console.log(`audit rows: ${rows.toLocaleString('en')} (file ${mb(size)})`);
    console.log(`written through audit.write in batches of ${WRITE_BATCH.toLocaleString('en')}: ${result.writeMs} ms (${result.storeWriteEventsPerSecond.toLocaleString('en')} events/s)`);
    printLookups('SQLite', result);
    console.log(`lookup by key alone (no index; a table scan) × 3: median ${ms(result.keyOnlyScanMedianMs)}`);
    console.log(`plan: ${plan.join('; ')}`);
    return result;
  } finally {
    await stores.close();
    file.remove();
  }
}

async function postgres() {
  let pg;
  try {
    pg = (await import('pg')).default;
  } catch (error) {
    return skipped(`the pg package cannot be loaded (${error.message})`);
  }
  const pool = new pg.Pool({ connectionString: PG_URL, max: 4, connectionTimeoutMillis: 3_000 });
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    return skipped(`${PG_URL} is unreachable (${error.message || error.code || error})`);
  }
  const { postgresStores } = await import(pathToFileURL(join(distDir, 'postgres', 'index.js')).href);
  const schema = `syncline_bench_${randomBytes(5).toString('hex')}`;
  try {
    const stores = postgresStores({ pool, schema });
    await stores.migrate();
    const { rows: [server] } = await pool.query('SHOW server_version');
    const table = `"${schema}".audit`;

    // The store's own batched write path (arrays through unnest), in SQLite's batch size, for scale; then emptied.
    const writeBatch = WRITE_BATCH;
    const writeBatches = 8;
    const writeStart = performance.now();
    for (let b = 0; b < writeBatches; b++) {
      await stores.audit.write(Array.from({ length: writeBatch }, (_, i) => ({ ...eventAt(b * writeBatch + i), pipelineId: 'write-rate' })));
    }
    const writeMs = performance.now() - writeStart;
    await pool.query(`TRUNCATE ${table}`);

    // The same rows as eventAt(i), generated server-side with the indexes in place.
    const insertStart = performance.now();
    await pool.query(
      `INSERT INTO ${table} (at, pipeline_id, run_id, type, key, detail_json)
       SELECT $1::float8 + i, $4::text, 'run-' || (i / 10000),
              CASE WHEN 1 + i / $2 < ${EVENTS_PER_KEY} THEN 'retried' ELSE 'written' END,
              'order-' || (i % $2),
              '{"attempt":' || (1 + i / $2) || ',"durationMs":12}'
       FROM generate_series(0, $3::int - 1) AS i`,
      [BASE_AT, KEYS, ROWS, PIPELINE_ID],
    );
    const insertMs = performance.now() - insertStart;
    await pool.query(`ANALYZE ${table}`);
    const { rows: [size] } = await pool.query(
      `SELECT count(*)::int AS rows, pg_table_size($1) AS heap, pg_indexes_size($1) AS indexes FROM ${table}`,
      [table],
    );

    const lookups = await timeLookups(stores.audit);
    const { rows: plan } = await pool.query(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT at, pipeline_id, run_id, type, key, detail_json FROM ${table}
       WHERE key = $1 AND pipeline_id = $2 ORDER BY id LIMIT 1000`,
      ['order-1042', PIPELINE_ID],
    );
    const result = {
      version: server.server_version,
      rows: size.rows,
      heapBytes: Number(size.heap),
      indexBytes: Number(size.indexes),
      insertMs: Math.round(insertMs),
      insertRowsPerSecond: Math.round(size.rows / (insertMs / 1000)),
      storeWriteEventsPerSecond: Math.round((writeBatches * writeBatch) / (writeMs / 1000)),
      ...lookups,
      plan: plan.map((row) => row['QUERY PLAN'].trim()),
    };
    console.log(`\nPostgreSQL ${result.version} at ${PG_URL.replace(/\/\/[^@/]*@/, '//…@')}`);
    console.log(`audit rows: ${result.rows.toLocaleString('en')} (heap ${mb(result.heapBytes)}, indexes ${mb(result.indexBytes)})`);
    console.log(`generated server-side in ${result.insertMs} ms (${result.insertRowsPerSecond.toLocaleString('en')} rows/s, indexes maintained)`);
    console.log(`audit.write through the store (batches of ${writeBatch}): ${result.storeWriteEventsPerSecond.toLocaleString('en')} events/s`);
    printLookups('PostgreSQL', result);
    console.log(`plan: ${result.plan.join('; ')}`);
    return result;
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error) => console.error(`could not drop schema ${schema}:`, error));
    await pool.end();
  }
}

function skipped(reason) {
  console.log(`\nPostgreSQL: skipped — ${reason}.`);
  return { skipped: reason };
}

console.log(`audit trace lookup: ${ROWS.toLocaleString('en')} rows per backend, ${KEYS.toLocaleString('en')} keys × ${EVENTS_PER_KEY} events, ${LOOKUPS} timed lookups`);
const result = { rows: ROWS, keys: KEYS, eventsPerKey: EVENTS_PER_KEY, lookups: LOOKUPS };
if (BACKENDS.has('sqlite')) result.sqlite = await sqlite();
if (BACKENDS.has('postgres')) result.postgres = await postgres();
console.log(JSON.stringify(result));
