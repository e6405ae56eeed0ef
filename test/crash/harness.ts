/**
 * Runs the crash child until the workload is done, killing it on cue, then judges the result from the
 * stores and the sink table only.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type pg from 'pg';
import type { ChildConfig, CrashPoint } from './child.js';
import { openStores, integrityCheck, type BackendConfig } from './backends.js';
import { expectedOutcome, indexOf, keyOf } from './workload.js';

/** Bundles child.ts (and the syncline source it imports) into one ESM file; drivers stay external. */
export async function buildChild(): Promise<string> {
  // Inside the repo's node_modules, so the bundle's bare imports (zod, pg …) resolve as from src/.
  const cache = fileURLToPath(new URL('../../node_modules/.cache', import.meta.url));
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'syncline-crash-'));
  const outfile = join(dir, 'child.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile,
    packages: 'external',
    logLevel: 'error',
  });
  return outfile;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the child; `killAfterMs` sends `killSignal` after that long (if it is still running). */
/** When to interrupt a child: after some settled sink batches (plus a jitter), or after a time. */
export type Interrupt =
  | { readonly afterBatches: number; readonly jitterMs: number; readonly signal: NodeJS.Signals }
  | { readonly afterMs: number; readonly signal: NodeJS.Signals };

export function runChild(script: string, config: ChildConfig, kill?: Interrupt): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, SYNCLINE_CRASH: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    let batches = 0;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      const progress = text.split('\u0001').length - 1;
      stderr += text.replaceAll('\u0001', '');
      if (kill && 'afterBatches' in kill && timer === undefined) {
        batches += progress;
        if (batches >= kill.afterBatches) timer = setTimeout(() => child.kill(kill.signal), kill.jitterMs);
      }
    });
    if (kill && 'afterMs' in kill) timer = setTimeout(() => child.kill(kill.signal), kill.afterMs);
    // Every child is bounded: a run that hangs is a failure, not a stuck CI job.
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(watchdog);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface Scenario {
  readonly name: string;
  readonly backend: BackendConfig;
  readonly pgUrl: string;
  readonly sinkTable: string;
  readonly sinkMode: 'upsert' | 'insert';
  readonly n: number;
  readonly pageSize: number;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Named crash points to go through, each once, at the given occurrence (optionally with slower pages). */
  readonly namedKills: readonly { readonly point: CrashPoint; readonly occurrence: number; readonly pageDelayMs?: number }[];
  /** Kills at random instants (SIGKILL), after the named ones. */
  readonly randomKills: number;
  /** Graceful stops (SIGTERM) at random instants. */
  readonly sigterms: number;
  readonly seed: number;
}

export interface Report {
  readonly scenario: string;
  readonly kills: number;
  /** Children that stopped themselves on losing their lease (starved of CPU past its TTL). */
  readonly leaseLosses: number;
  /** Named crash points that really killed the child (a point the run never reaches cannot). */
  readonly namedLanded: number;
  readonly sigterms: number;
  readonly restarts: number;
  readonly lost: number;
  readonly missing: number;
  readonly unexpected: number;
  readonly conflicting: number;
  readonly duplicateEffects: number;
  readonly duplicateDeliveries: number;
  readonly regressions: number;
  readonly integrityFailures: readonly string[];
  readonly finalOffset: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function checkpointOffset(backend: BackendConfig): Promise<number> {
  const { stores, close } = await openStores(backend);
  try {
    const checkpoint = await stores.checkpoints.load('crash');
    return (checkpoint?.cursor as { offset?: number } | undefined)?.offset ?? 0;
  } finally {
    await close();
  }
}

/**
 * Runs a scenario: each kill (named points first, then random instants, then SIGTERMs) interrupts one
 * child; after each, the SQLite file's integrity is checked and the checkpoint must not have moved back.
 * Finally a child runs to the end, and the checker reads the stores and the sink table.
 */
export async function runScenario(script: string, pool: pg.Pool, scenario: Scenario): Promise<Report> {
  const random = mulberry32(scenario.seed);
  const base: ChildConfig = {
    backend: scenario.backend,
    pgUrl: scenario.pgUrl,
    sinkTable: scenario.sinkTable,
    sinkMode: scenario.sinkMode,
    n: scenario.n,
    pageSize: scenario.pageSize,
    batchSize: scenario.batchSize,
    concurrency: scenario.concurrency,
    // Short enough that a killed child's lease frees quickly, long enough for a loaded CI machine.
    leaseTtlMs: 1000,
    pageDelayMs: 3,
  };
  await createSinkTable(pool, scenario.sinkTable, scenario.sinkMode);
  let kills = 0;
  let leaseLosses = 0;
  let namedLanded = 0;
  let sigterms = 0;
  let restarts = 0;
  let regressions = 0;
  const integrityFailures: string[] = [];
  let lastOffset = 0;
  const afterExit = async (exit: Exit, what: string): Promise<void> => {
    // A child starved of CPU past its lease stops itself without committing (LeaseLostError): that is the
    // designed behaviour, and the next child re-reads; any other failure is a test failure.
    // A killed child's lease stays live until it expires; like a supervisor's restart delay, wait it out so
    // the next child's kill delays count from real work, not from waiting for the lease.
    if (exit.signal === 'SIGKILL') await new Promise((resolve) => setTimeout(resolve, base.leaseTtlMs));
    if (exit.code !== 0 && exit.signal === null && /lost its lease/.test(exit.stderr)) leaseLosses++;
    else if (exit.code !== 0 && exit.signal === null) throw new Error(`crash child failed (${what}): exit ${exit.code}\n${exit.stderr}`);
    const integrity = await integrityCheck(scenario.backend);
    if (integrity !== 'ok') integrityFailures.push(`${what}: ${integrity}`);
    const offset = await checkpointOffset(scenario.backend);
    if (offset < lastOffset) regressions++;
    lastOffset = Math.max(lastOffset, offset);
  };

  for (const kill of scenario.namedKills) {
    const exit = await runChild(script, { ...base, crashAt: { point: kill.point, occurrence: kill.occurrence }, ...(kill.pageDelayMs === undefined ? {} : { pageDelayMs: kill.pageDelayMs }) });
    restarts++;
    if (exit.signal === 'SIGKILL') {
      kills++;
      namedLanded++;
    }
    await afterExit(exit, `${kill.point}#${kill.occurrence}`);
  }
  // Random kills are timed by progress — after 1 to 6 settled batches, then 0–5 ms more — so they land at
  // an unpredictable point of a write, a commit or a read whatever the machine's load, and all of them
  // land before the work is done.
  const progressing = { ...base, reportProgress: true };
  const interrupt = (signal: NodeJS.Signals): Interrupt => ({ afterBatches: 1 + Math.floor(random() * 6), jitterMs: Math.floor(random() * 6), signal });
  for (let k = 0; k < scenario.randomKills; k++) {
    const when = interrupt('SIGKILL');
    const exit = await runChild(script, progressing, when);
    restarts++;
    if (exit.signal === 'SIGKILL') kills++;
    await afterExit(exit, `random SIGKILL after ${JSON.stringify(when)}`);
  }
  for (let k = 0; k < scenario.sigterms; k++) {
    const when = interrupt('SIGTERM');
    const exit = await runChild(script, progressing, when);
    restarts++;
    sigterms++;
    await afterExit(exit, `SIGTERM after ${JSON.stringify(when)}`);
  }
  // Run to the end: a child that is not killed must finish the workload.
  for (let tries = 0; lastOffset < scenario.n; tries++) {
    if (tries >= 5) throw new Error(`${scenario.name}: the workload did not finish after ${tries} clean runs (offset ${lastOffset})`);
    const exit = await runChild(script, base);
    restarts++;
    await afterExit(exit, 'final run');
  }
  const judged = await judge(scenario, pool);
  return {
    scenario: scenario.name,
    kills,
    leaseLosses,
    namedLanded,
    sigterms,
    restarts,
    regressions,
    integrityFailures,
    finalOffset: lastOffset,
    ...judged,
  };
}

/** The sink's table: with a unique idempotency key (an idempotent sink) or without (plain inserts). */
export async function createSinkTable(pool: pg.Pool, table: string, mode: 'upsert' | 'insert'): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(
    `CREATE TABLE ${table} (row_id bigserial PRIMARY KEY, idempotency_key text NOT NULL, key text NOT NULL, amount integer NOT NULL${
      mode === 'upsert' ? ', UNIQUE (idempotency_key)' : ''
    })`,
  );
}


/** Compares what the stores and the sink table hold with what the workload must end in. */
async function judge(
  scenario: Scenario,
  pool: pg.Pool,
): Promise<Pick<Report, 'lost' | 'missing' | 'unexpected' | 'conflicting' | 'duplicateEffects' | 'duplicateDeliveries'>> {
  const rows = await pool.query<{ key: string; idempotency_key: string; n: string }>(
    `SELECT key, idempotency_key, count(*) AS n FROM ${scenario.sinkTable} GROUP BY key, idempotency_key`,
  );
  const sinkCount = new Map<string, number>();
  for (const row of rows.rows) sinkCount.set(row.key, (sinkCount.get(row.key) ?? 0) + Number(row.n));
  const { stores, close } = await openStores(scenario.backend);
  try {
    const dead = new Set<string>();
    for (let after: string | undefined; ; ) {
      const page = await stores.deadLetters.list('crash', { limit: 1000, ...(after === undefined ? {} : { after }) });
      for (const entry of page) dead.add(entry.key);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    const skipped = new Set((await stores.audit.query({ pipelineId: 'crash', type: 'skipped', limit: 10_000_000 })).map((event) => event.key!));
    let lost = 0;
    let missing = 0;
    let unexpected = 0;
    let conflicting = 0;
    let duplicates = 0;
    for (let i = 0; i < scenario.n; i++) {
      const key = keyOf(i);
      const written = sinkCount.has(key);
      const outcomes = Number(written) + Number(dead.has(key)) + Number(skipped.has(key));
      if (outcomes === 0) lost++;
      if (outcomes > 1) conflicting++;
      const expected = expectedOutcome(i);
      if (expected === 'written' && !written) missing++;
      if (expected !== 'written' && written) unexpected++;
      if (expected === 'dead' && !dead.has(key)) missing++;
      if (expected === 'skipped' && !skipped.has(key)) missing++;
      duplicates += Math.max(0, (sinkCount.get(key) ?? 0) - 1);
    }
    for (const key of sinkCount.keys()) {
      const i = indexOf(key);
      if (!(i >= 0 && i < scenario.n)) unexpected++;
    }
    return scenario.sinkMode === 'upsert'
      ? { lost, missing, unexpected, conflicting, duplicateEffects: duplicates, duplicateDeliveries: 0 }
      : { lost, missing, unexpected, conflicting, duplicateEffects: 0, duplicateDeliveries: duplicates };
  } finally {
    await close();
  }
}
