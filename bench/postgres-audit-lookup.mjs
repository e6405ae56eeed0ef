#!/usr/bin/env node
// Audit trace lookup by record key over 1,000,000 audit rows in PostgreSQL ("what happened to order 1042?"),
// through `PostgresAuditStore.query({ pipelineId, key })`, the call `pipeline.trace(key)` makes.
//
// Method: a fresh schema is created and migrated by the store (so the real indexes are measured), the rows
// are generated server-side in one INSERT … SELECT FROM generate_series (4 events per key, a key's events
// spread over the whole table, as retries and re-runs spread them in time), the table is ANALYZEd, then
// 10 warm-up lookups and LOOKUPS timed lookups of random keys (fixed seed) run one after another. Reported:
// median, p95, min and max wall time per lookup, the plan PostgreSQL chose, and the store's batched write
// rate. The schema is dropped at the end, also on failure.
//
// Environment:
//   PG_URL         the database                       (default postgres://postgres@127.0.0.1:5432/test)
//   AUDIT_ROWS     rows to generate                    (default 1000000)
//   LOOKUPS        timed lookups                       (default 100)
//   SYNCLINE_FROM  'dist' to use the build, 'src' to transpile src/ (default: dist when it has syncline/postgres, else src)
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.AUDIT_ROWS ?? 1_000_000);
const LOOKUPS = Number(process.env.LOOKUPS ?? 100);
const EVENTS_PER_KEY = 4;
const KEYS = Math.floor(ROWS / EVENTS_PER_KEY);

/** The `syncline/postgres` module: the build, or src/ transpiled (types erased) next to node_modules. */
async function loadSyncline() {
  const built = join(root, 'dist', 'postgres', 'index.js');
  const wanted = process.env.SYNCLINE_FROM;
  if (wanted !== 'src' && existsSync(built)) {
    const module = await import(pathToFileURL(built).href);
    if (typeof module.postgresStores === 'function') return { module, from: 'dist/', cleanup: () => undefined };
    if (wanted === 'dist') throw new Error('dist/postgres/index.js has no postgresStores: the build is stale. Run `npm run build`.');
  } else if (wanted === 'dist') {
    throw new Error('dist/postgres/index.js does not exist. Run `npm run build`.');
  }
  const ts = (await import('typescript')).default;
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, 'syncline-bench-pg-'));
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  const src = join(root, 'src');
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
    const { outputText } = ts.transpileModule(readFileSync(join(src, file), 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true },
    });
    const target = join(out, 'src', file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return {
    module: await import(pathToFileURL(join(out, 'src', 'postgres', 'index.js')).href),
    from: 'src/ (transpiled)',
    cleanup: () => rmSync(out, { recursive: true, force: true }),
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

const ms = (value) => `${value.toFixed(3)} ms`;

const { module: syncline, from, cleanup } = await loadSyncline();
const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
pool.on('error', () => undefined);
const schema = `syncline_bench_${randomBytes(5).toString('hex')}`;
try {
  const stores = syncline.postgresStores({ pool, schema });
  await stores.migrate();
  const { rows: [server] } = await pool.query('SHOW server_version');

  // 1. The store's own batched write path (arrays through unnest), for scale.
  const writeBatches = 40;
  const batchSize = 500;
  const writeStart = performance.now();
  for (let b = 0; b < writeBatches; b++) {
    const events = Array.from({ length: batchSize }, (_, i) => ({
      at: Date.UTC(2025, 0, 1) + b * batchSize + i,
      pipelineId: 'write-rate',
      runId: 'run-1',
      type: 'written',
      key: `w-${b}-${i}`,
      attempt: 1,
      durationMs: 3,
    }));
    await stores.audit.write(events);
  }
  const writeMs = performance.now() - writeStart;
  await pool.query(`TRUNCATE "${schema}".audit`);

  // 2. 1,000,000 rows, generated server-side with the indexes in place.
  const insertStart = performance.now();
  await pool.query(
    `INSERT INTO "${schema}".audit (at, pipeline_id, run_id, type, key, detail_json)
     SELECT $1::float8 + i, 'orders', 'run-' || (i / 10000),
            (ARRAY['retried', 'retried', 'retried', 'written'])[1 + i / $2],
            'order-' || (i % $2),
            '{"attempt":' || (1 + i / $2) || ',"durationMs":12}'
     FROM generate_series(0, $3::int - 1) AS i`,
    [Date.UTC(2026, 0, 1), KEYS, KEYS * EVENTS_PER_KEY],
  );
  const insertMs = performance.now() - insertStart;
  await pool.query(`ANALYZE "${schema}".audit`);
  const { rows: [size] } = await pool.query(
    `SELECT count(*)::int AS rows, pg_size_pretty(pg_table_size($1)) AS heap, pg_size_pretty(pg_indexes_size($1)) AS indexes FROM "${schema}".audit`,
    [`"${schema}".audit`],
  );

  // 3. Lookups through the store, as pipeline.trace(key) does them.
  const next = random(1042);
  const pick = () => `order-${Math.floor(next() * KEYS)}`;
  for (let i = 0; i < 10; i++) await stores.audit.query({ pipelineId: 'orders', key: pick(), limit: 1000 });
  const times = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const key = pick();
    const start = performance.now();
    const events = await stores.audit.query({ pipelineId: 'orders', key, limit: 1000 });
    times.push(performance.now() - start);
    if (events.length !== EVENTS_PER_KEY || events.some((e) => e.key !== key)) {
      throw new Error(`lookup of ${key} returned ${events.length} events, expected ${EVENTS_PER_KEY}`);
    }
  }
  times.sort((a, b) => a - b);
  const keyOnly = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const start = performance.now();
    await stores.audit.query({ key: pick(), limit: 1000 });
    keyOnly.push(performance.now() - start);
  }
  keyOnly.sort((a, b) => a - b);
  const { rows: plan } = await pool.query(
    `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT at, pipeline_id, run_id, type, key, detail_json FROM "${schema}".audit
     WHERE key = $1 AND pipeline_id = $2 ORDER BY id LIMIT 1000`,
    ['order-1042', 'orders'],
  );

  const result = {
    postgres: server.server_version,
    syncline: from,
    rows: size.rows,
    heap: size.heap,
    indexes: size.indexes,
    insertMs: Math.round(insertMs),
    insertRowsPerSecond: Math.round(size.rows / (insertMs / 1000)),
    storeWriteEventsPerSecond: Math.round((writeBatches * batchSize) / (writeMs / 1000)),
    lookups: LOOKUPS,
    medianMs: quantile(times, 0.5),
    p95Ms: quantile(times, 0.95),
    minMs: times[0],
    maxMs: times.at(-1),
    keyOnlyMedianMs: quantile(keyOnly, 0.5),
  };
  console.log(`PostgreSQL ${result.postgres}, syncline from ${result.syncline}`);
  console.log(`audit rows: ${result.rows.toLocaleString('en')} (heap ${result.heap}, indexes ${result.indexes})`);
  console.log(`generated in ${result.insertMs} ms (${result.insertRowsPerSecond.toLocaleString('en')} rows/s, indexes maintained)`);
  console.log(`audit.write through the store (batches of ${batchSize}): ${result.storeWriteEventsPerSecond.toLocaleString('en')} events/s`);
  console.log(
    `trace lookup { pipelineId, key } × ${LOOKUPS}: median ${ms(result.medianMs)}, p95 ${ms(result.p95Ms)}, min ${ms(result.minMs)}, max ${ms(result.maxMs)}`,
  );
  console.log(`lookup by key alone × ${LOOKUPS}: median ${ms(result.keyOnlyMedianMs)}`);
  console.log('plan:');
  for (const row of plan) console.log(`  ${row['QUERY PLAN']}`);
  console.log(JSON.stringify(result));
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error) => console.error(`could not drop schema ${schema}:`, error));
  await pool.end();
  cleanup();
}
