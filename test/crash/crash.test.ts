/**
 * The proof of the promise: a child process runs a pipeline and is killed with SIGKILL at named points
 * and at random instants, then restarted until done; the checker reads the stores and the sink table.
 * CI: N = 5,000, every named point, 20 random kills per backend. Soak: SYNCLINE_SOAK=1 runs 100,000
 * records and 500 kills (about an hour).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, serviceAvailable } from '../support/services.js';
import type { BackendConfig } from './backends.js';
import type { CrashPoint } from './child.js';
import { hostname } from 'node:os';
import { buildChild, createSinkTable, runChild, runScenario, type Report, type Scenario } from './harness.js';

const available = await serviceAvailable('PostgreSQL', PG_URL);
const soak = process.env['SYNCLINE_SOAK'] === '1';
const N = soak ? 100_000 : 5_000;
const RANDOM_KILLS = soak ? 250 : 10; // per sink mode: 20 (soak: 500) per backend
const PAGE = 50;
const BATCH = 50;
const CONCURRENCY = 2;

// Early occurrences, so each lands whatever the machine's speed and together they use a small part of the
// work. The lease is renewed every third of its 1 s TTL: slower pages make sure the run gets there.
const namedKills: { point: CrashPoint; occurrence: number; pageDelayMs?: number }[] = [
  { point: 'before-sink-write', occurrence: 3 },
  { point: 'after-sink-write', occurrence: 4 },
  { point: 'in-checkpoint-commit', occurrence: 2 },
  { point: 'after-dead-letter-write', occurrence: 2 },
  { point: 'during-lease-renewal', occurrence: 1, pageDelayMs: 20 },
];

const reports: Report[] = [];

describe.skipIf(!available)('crash tests: SIGKILL at any instant loses nothing', () => {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  let script = '';
  let dir = '';
  let pool: pg.Pool;

  beforeAll(async () => {
    script = await buildChild();
    dir = mkdtempSync(join(tmpdir(), 'syncline-crash-db-'));
    pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  });

  afterAll(async () => {
    if (reports.length > 0) console.table(reports.map(({ integrityFailures, ...report }) => ({ ...report, integrityFailures: integrityFailures.length })));
    if (pool) {
      const tables = await pool.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE 'crash_sink_%${suffix}'`);
      for (const { tablename } of tables.rows) await pool.query(`DROP TABLE IF EXISTS ${tablename}`);
      const schemas = await pool.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'crash_pg_%${suffix}'`);
      for (const { nspname } of schemas.rows) await pool.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
      await pool.end();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const backends: { name: string; config: (mode: string) => BackendConfig }[] = [
    { name: 'sqlite', config: (mode) => ({ kind: 'sqlite', path: join(dir, `${mode}.db`) }) },
    { name: 'postgres', config: (mode) => ({ kind: 'postgres', url: PG_URL, schema: `crash_pg_${mode}_${suffix}` }) },
  ];

  const scenario = (backend: (typeof backends)[number], mode: 'upsert' | 'insert' | 'sigterm', seed: number): Scenario => ({
    name: `${backend.name}/${mode}`,
    backend: backend.config(mode),
    pgUrl: PG_URL,
    sinkTable: `crash_sink_${backend.name}_${mode}_${suffix}`,
    sinkMode: mode === 'upsert' ? 'upsert' : 'insert',
    n: N,
    pageSize: PAGE,
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    namedKills: mode === 'sigterm' ? [] : namedKills,
    randomKills: mode === 'sigterm' ? 0 : RANDOM_KILLS,
    sigterms: mode === 'sigterm' ? (soak ? 50 : 3) : 0,
    seed,
  });

  const expectNothingLost = (report: Report): void => {
    expect(report.finalOffset).toBe(N);
    expect(report.integrityFailures).toEqual([]);
    expect({ lost: report.lost, missing: report.missing, unexpected: report.unexpected, conflicting: report.conflicting, regressions: report.regressions }).toEqual({
      lost: 0,
      missing: 0,
      unexpected: 0,
      conflicting: 0,
      regressions: 0,
    });
  };

  for (const [b, backend] of backends.entries()) {
    it(
      `${backend.name}: idempotent sink — no loss and no duplicate effect across every named kill point and random kills`,
      async () => {
        const report = await runScenario(script, pool, scenario(backend, 'upsert', 1000 + b));
        reports.push(report);
        expectNothingLost(report);
        expect(report.duplicateEffects).toBe(0);
        expect(report.namedLanded).toBe(namedKills.length);
        expect(report.kills).toBeGreaterThanOrEqual(namedKills.length + Math.ceil(RANDOM_KILLS * 0.8));
      },
      soak ? 3_600_000 : 300_000,
    );

    it(
      `${backend.name}: plain-insert sink — no loss; duplicate deliveries bounded by kills × batch × in-flight`,
      async () => {
        const report = await runScenario(script, pool, scenario(backend, 'insert', 2000 + b));
        reports.push(report);
        expectNothingLost(report);
        expect(report.namedLanded).toBe(namedKills.length);
        expect(report.kills).toBeGreaterThanOrEqual(namedKills.length + Math.ceil(RANDOM_KILLS * 0.8));
        expect(report.duplicateDeliveries).toBeLessThanOrEqual(report.kills * BATCH * CONCURRENCY);
      },
      soak ? 3_600_000 : 300_000,
    );

    it(
      `${backend.name}: SIGTERM stops drain gracefully — zero duplicate deliveries`,
      async () => {
        const report = await runScenario(script, pool, scenario(backend, 'sigterm', 3000 + b));
        reports.push(report);
        expectNothingLost(report);
        expect(report.duplicateDeliveries).toBe(0);
      },
      soak ? 3_600_000 : 300_000,
    );
  }

  it('two processes start the same pipeline at once against one PostgreSQL: exactly one runs, the other fails fast naming the holder', async () => {
    const table = `crash_sink_twins_${suffix}`;
    await createSinkTable(pool, table, 'upsert');
    const config = {
      backend: { kind: 'postgres', url: PG_URL, schema: `crash_pg_twins_${suffix}` } as const,
      pgUrl: PG_URL,
      sinkTable: table,
      sinkMode: 'upsert' as const,
      n: 2_000,
      pageSize: PAGE,
      batchSize: BATCH,
      concurrency: CONCURRENCY,
      leaseTtlMs: 5_000,
      failFastOnLease: true,
    };
    // Migrate first, so both start from the same point and race only for the lease.
    const { openStores } = await import('./backends.js');
    const { stores, close } = await openStores(config.backend);
    await stores.checkpoints.load('crash');
    await close();
    const [a, b] = await Promise.all([runChild(script, config), runChild(script, config)]);
    const codes = [a.code, b.code].sort();
    expect(codes, `${a.stderr}\n${b.stderr}`).toEqual([0, 3]);
    const loser = a.code === 3 ? a : b;
    const winner = a.code === 0 ? a : b;
    const turnedAway = JSON.parse(loser.stdout) as { holder: string; message: string };
    expect(turnedAway.holder).toMatch(new RegExp(`^${hostname()}/\\d+/run_`));
    expect(turnedAway.message).toMatch(/Pipeline `crash` is already running: lease held by/);
    expect(JSON.parse(winner.stdout)).toEqual({ status: 'completed', read: 2_000 });
    const rows = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    expect(Number(rows.rows[0]!.n)).toBeGreaterThan(0);
  });
});
