/**
 * The process the crash tests kill: runs the workload pipeline to the end with durable stores and a sink
 * into a PostgreSQL table, optionally killing itself (SIGKILL) at a named point. Bundled by esbuild and
 * started by harness.ts; configured through the SYNCLINE_CRASH environment variable (JSON).
 */
import pg from 'pg';
import {
  pipeline,
  LeaseHeldError,
  PermanentError,
  type CheckpointStore,
  type DeadLetterStore,
  type Sink,
  type SinkRecord,
  type SinkResult,
  type Stores,
} from '../../src/index.js';
import { crashSource, CrashRecordSchema, indexOf, sinkRejects, type CrashRecord } from './workload.js';
import { openStores, type BackendConfig } from './backends.js';

export type CrashPoint = 'before-sink-write' | 'after-sink-write' | 'in-checkpoint-commit' | 'after-dead-letter-write' | 'during-lease-renewal';

export interface ChildConfig {
  readonly backend: BackendConfig;
  readonly pgUrl: string;
  readonly sinkTable: string;
  readonly sinkMode: 'upsert' | 'insert';
  readonly n: number;
  readonly pageSize: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly leaseTtlMs: number;
  /** Each page waits this long, like a remote API would: runs last long enough to renew the lease. */
  readonly pageDelayMs?: number;
  readonly crashAt?: { readonly point: CrashPoint; readonly occurrence: number };
  /** Exit at once (code 3, the error as JSON on stdout) when another runner holds the lease, instead of waiting. */
  readonly failFastOnLease?: boolean;
  /** Write one byte (U+0001) to stderr per settled sink batch, so kills can be timed by progress. */
  readonly reportProgress?: boolean;
}

const config = JSON.parse(process.env['SYNCLINE_CRASH'] ?? '{}') as ChildConfig;

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL cannot be caught; this line only satisfies the type checker.
  throw new Error('unreachable');
}

/** Counts calls per crash point and kills the process on the configured occurrence. */
function armed(point: CrashPoint): boolean {
  if (config.crashAt?.point !== point) return false;
  counts.set(point, (counts.get(point) ?? 0) + 1);
  return counts.get(point) === config.crashAt.occurrence;
}
const counts = new Map<CrashPoint, number>();

function crashingSink(pool: pg.Pool): Sink<CrashRecord> {
  const conflict = config.sinkMode === 'upsert' ? ' ON CONFLICT (idempotency_key) DO NOTHING' : '';
  return {
    name: 'ledger',
    write: async (records: readonly SinkRecord<CrashRecord>[]): Promise<readonly SinkResult[]> => {
      if (armed('before-sink-write')) die();
      const accepted = records.filter((r) => !sinkRejects(indexOf(r.key)));
      if (accepted.length > 0) {
        const values: unknown[] = [];
        const rows = accepted.map((r, k) => {
          values.push(r.idempotencyKey, r.key, r.data.amount);
          return `($${3 * k + 1}, $${3 * k + 2}, $${3 * k + 3})`;
        });
        await pool.query(`INSERT INTO ${config.sinkTable} (idempotency_key, key, amount) VALUES ${rows.join(', ')}${conflict}`, values);
      }
      if (armed('after-sink-write')) die();
      return records.map((r) =>
        sinkRejects(indexOf(r.key))
          ? { key: r.key, status: 'failed', error: new PermanentError(`ledger rejected ${r.key}`, { status: 422 }) }
          : { key: r.key, status: 'written' },
      );
    },
  };
}

function crashingCheckpoints(inner: CheckpointStore): CheckpointStore {
  return {
    acquireLease: (...args) => inner.acquireLease(...args),
    releaseLease: (...args) => inner.releaseLease(...args),
    load: (...args) => inner.load(...args),
    reset: (...args) => inner.reset(...args),
    commit: (lease, commit, signal) => {
      const committing = inner.commit(lease, commit, signal);
      // The commit has been handed to the store (its statement sent, or its transaction under way).
      if (armed('in-checkpoint-commit')) die();
      return committing;
    },
    renewLease: (lease, ttlMs, signal) => {
      const renewing = inner.renewLease(lease, ttlMs, signal);
      if (armed('during-lease-renewal')) die();
      return renewing;
    },
  };
}

function crashingDeadLetters(inner: DeadLetterStore): DeadLetterStore {
  return {
    get: (...args) => inner.get(...args),
    list: (...args) => inner.list(...args),
    delete: (...args) => inner.delete(...args),
    count: (...args) => inner.count(...args),
    put: async (entries, signal) => {
      await inner.put(entries, signal);
      if (armed('after-dead-letter-write')) die();
    },
  };
}

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: config.pgUrl, max: 4 });
  const { stores, close } = await openStores(config.backend);
  const wrapped: Stores = { ...stores, checkpoints: crashingCheckpoints(stores.checkpoints), deadLetters: crashingDeadLetters(stores.deadLetters) };
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort(new Error('SIGTERM')));
  const run = pipeline({
    id: 'crash',
    source: crashSource(config.n, config.pageSize, config.pageDelayMs ?? 0),
    stores: wrapped,
    batch: { size: config.batchSize, maxWaitMs: 50 },
    concurrency: config.concurrency,
    retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 },
    lease: { ttlMs: config.leaseTtlMs },
  })
    .filter((record) => record.id % 50 !== 7, { reason: 'skip-rule' })
    .validate(CrashRecordSchema)
    .to(crashingSink(pool));
  // Progress for the harness, which times random kills by it (the checker never reads it).
  if (config.reportProgress) run.on('batch', () => process.stderr.write('\u0001'));
  let exitCode = 0;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const summary = await run.run({ signal: controller.signal });
        process.stdout.write(`${JSON.stringify({ status: summary.status, read: summary.read })}\n`);
        break;
      } catch (error) {
        if (error instanceof LeaseHeldError && config.failFastOnLease) {
          process.stdout.write(`${JSON.stringify({ leaseHeld: true, holder: error.holder, message: error.message })}\n`);
          exitCode = 3;
          break;
        }
        // The lease of a killed predecessor is still live: wait for it to expire, as an operator would.
        if (error instanceof LeaseHeldError && attempt < 50 && !controller.signal.aborted) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(10, error.expiresAt - Date.now() + 10)));
          continue;
        }
        throw error;
      }
    }
  } catch (error) {
    // Stopped (SIGTERM) before the run could start, e.g. while waiting for a dead predecessor's lease.
    if (!controller.signal.aborted) {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      exitCode = 1;
    }
  } finally {
    await close();
    await pool.end();
  }
  process.exitCode = exitCode;
}

await main();
