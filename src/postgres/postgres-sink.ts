import { z } from 'zod';
import { FatalError } from '../errors/fatal-error.js';
import { StaleEpochError } from '../errors/stale-epoch-error.js';
import { parseOptions } from '../internal/options.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from '../sink/sink.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import type { PostgresClientOf, PostgresPool, PostgresPoolClient } from './client.js';
import { Database, type Statement } from './database.js';
import { poolSchema, resolveSchemaOptions, schemaOptionShape, type PostgresSchemaOptions } from './options.js';
import { checkInteger, checkText, parseStoredJson, storedKey, toNumber } from './text.js';
import { encodeKey } from '../internal/key-codec.js';

/** Options of {@link postgresSink}. */
export interface PostgresSinkOptions<T, P extends PostgresPool = PostgresPool> extends PostgresSchemaOptions {
  /**
   * The pool of the database the sink writes to; the applied-keys table is created there (in `schema`),
   * so it commits in the same transaction as your rows.
   */
  readonly pool: P;
  /**
   * Writes records inside the open transaction, through `client` only: every statement on it commits
   * or rolls back together with the records' applied keys. Do not `BEGIN`, `COMMIT` or `ROLLBACK`.
   * Resolve as a {@link Sink}'s `write` does (nothing, or per-record results). A record you report as
   * `failed` must leave no effect in the transaction (wrap each record in a `SAVEPOINT` when one may
   * fail half-way: a failed statement aborts the whole transaction otherwise). A throw rolls everything
   * back and is classified as usual. Never wait inside `write` on another connection that touches the
   * same rows (another `postgresSink` over the same keys): it would wait on this transaction's locks.
   * Give the record type on `records` rather than as a type argument, so `client` is inferred from
   * `pool` (a `pg.PoolClient` for a `pg.Pool`).
   */
  readonly write: (client: PostgresClientOf<P>, records: readonly SinkRecord<T>[], ctx: SinkWriteContext) => Promise<void | readonly SinkResult[]>;
  /**
   * The sink's name in audit rows and errors; it also scopes the applied keys, so keep it stable (a
   * renamed sink applies re-delivered records again).
   * @default 'postgres'
   */
  readonly name?: string;
  /**
   * Fence out zombie runners by lease epoch: the sink keeps, per pipeline, the highest `ctx.epoch` it
   * has written with (in `<schema>.sink_fences`, in the same transaction as the write), and refuses a
   * write carrying a lower one with {@link StaleEpochError} (fatal), writing nothing. So once a runner
   * that took the pipeline over has written, a paused runner whose lease it took can no longer write,
   * even before it notices the lost lease. A write already in flight when the new runner's first write
   * starts commits first (the new write waits for it). Batches of one runner do not wait for each other.
   * @default false
   */
  readonly fence?: boolean;
}

/** The {@link Sink} {@link postgresSink} returns, with upkeep for its applied-keys table. */
export interface PostgresSink<T> extends Sink<T> {
  /** Creates or migrates the schema now instead of on the first write. */
  migrate(signal?: AbortSignal): Promise<void>;
  /**
   * Retention: deletes this sink's applied keys recorded before `epochMs`; returns how many. Safe for
   * keys whose records the pipeline's checkpoint has passed (they are not delivered again); keep at
   * least as long as a run may take to commit, e.g. a day.
   */
  deleteAppliedOlderThan(epochMs: number, signal?: AbortSignal): Promise<number>;
  /** Forgets idempotency keys, so their records are written again on their next delivery; returns how many existed. */
  forget(idempotencyKeys: readonly string[], signal?: AbortSignal): Promise<number>;
}

const optionsSchema = z.strictObject({
  pool: poolSchema,
  write: z.custom<(...args: unknown[]) => unknown>((value) => typeof value === 'function', { error: 'expected a function' }),
  name: z.string().min(1).optional(),
  fence: z.boolean().optional(),
  ...schemaOptionShape,
});

/**
 * A sink into PostgreSQL with exactly-once effects across crashes: your `write` runs in a transaction
 * that also records each record's idempotency key in `<schema>.applied`, and a record whose key is
 * already there is not written again.
 *
 * Per batch: `BEGIN`; with `fence: true`, check and advance the pipeline's epoch fence; claim the batch's idempotency keys (`INSERT … ON CONFLICT DO NOTHING`, in
 * sorted order so concurrent batches cannot deadlock); call `write` with the records whose key was
 * new; record their outcomes (a `failed` record's claim is removed, so it is retried or dead-lettered
 * as usual; `skipped` reasons and `written` refs are kept); `COMMIT`. Records claimed before are
 * answered with their stored outcome without calling `write`.
 *
 * What it guarantees: a record's effect and its applied key commit together or not at all, so however
 * often a record is delivered (a crash after the write and before the checkpoint, a retry after a lost
 * `COMMIT` acknowledgement, a paused runner whose lease was taken over writing concurrently — its claim
 * waits on the other transaction's row lock), its effect happens once. A plain `INSERT` without a
 * unique constraint becomes exactly-once.
 *
 * With `fence: true` it also refuses, with {@link StaleEpochError}, the writes of a runner whose lease
 * was taken over: each transaction checks the run's lease epoch (`ctx.epoch`) against the highest one
 * this sink has written with for the pipeline, so a zombie's late write cannot land after its
 * successor's.
 *
 * What it does not do: commit the source cursor in that transaction. The runner commits the cursor
 * per completed page, after every record of the page has an outcome (dead letters stored, audit
 * flushed), so after a crash the pages since the last checkpoint are read and delivered again. The
 * applied keys make those re-deliveries no-ops, which is the effect committing the cursor in the same
 * transaction would have had — and they stay exact where one cursor cannot: with several batches in
 * flight, out-of-order completion, and partially failed batches. Re-deliveries still cost a source
 * read and a lookup, and appear again in the audit as `written`. Only statements on `client` are
 * covered: an HTTP call or another pool inside `write` is not.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { pipeline, type SinkRecord } from 'syncline';
 * import { postgresSink, postgresStores } from 'syncline/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const invoices = postgresSink({
 *   pool,
 *   name: 'invoices',
 *   // Type the records here rather than as a type argument: `client` is then inferred as `pg.PoolClient`.
 *   async write(client, records: readonly SinkRecord<{ orderId: string; total: number }>[]) {
 *     await client.query('INSERT INTO invoices (order_id, total) SELECT * FROM unnest($1::text[], $2::numeric[])', [
 *       records.map((r) => r.data.orderId),
 *       records.map((r) => r.data.total),
 *     ]);
 *   },
 * });
 * await pipeline({ id: 'orders-to-invoices', source, stores: postgresStores({ pool }) }).to(invoices).run();
 * ```
 * @see {@link PostgresSinkOptions.write} for what `write` may and must do.
 */
export function postgresSink<T, P extends PostgresPool = PostgresPool>(options: PostgresSinkOptions<T, P>): PostgresSink<T> {
  const parsed = parseOptions(optionsSchema, options, 'options', 'Check the options passed to `postgresSink(options)`.');
  const name = checkText(parsed.name ?? 'postgres', 'name', 'postgresSink');
  const pool = options.pool;
  const userWrite = options.write;
  const db = new Database(pool, resolveSchemaOptions(parsed));
  const s = db.s;
  const fence = parsed.fence ?? false;
  const sql: Record<'fenceHeld' | 'fenceAdvance' | 'claim' | 'drop' | 'outcome' | 'earlier' | 'forget' | 'expire', Statement> = {
    // A share lock: batches of one epoch run side by side, while a higher epoch's advance waits for them.
    fenceHeld: db.statement(`SELECT epoch FROM ${s}.sink_fences WHERE sink = $1 AND pipeline_id = $2 AND epoch >= $3 FOR SHARE`),
    fenceAdvance: db.statement(
      `INSERT INTO ${s}.sink_fences AS f (sink, pipeline_id, epoch) VALUES ($1, $2, $3)
       ON CONFLICT (sink, pipeline_id) DO UPDATE SET epoch = excluded.epoch WHERE f.epoch < excluded.epoch
       RETURNING epoch`,
    ),
    claim: db.statement(
      `INSERT INTO ${s}.applied (sink, idempotency_key, status, applied_at, run_id)
       SELECT $1, t.key, 'written', $3, $4 FROM unnest($2::text[]) WITH ORDINALITY AS t(key, ord)
       ORDER BY t.ord
       ON CONFLICT (sink, idempotency_key) DO NOTHING
       RETURNING idempotency_key`,
    ),
    drop: db.statement(`DELETE FROM ${s}.applied WHERE sink = $1 AND idempotency_key = ANY($2::text[])`),
    outcome: db.statement(
      `UPDATE ${s}.applied AS a SET status = u.status, detail_json = u.detail
       FROM unnest($2::text[], $3::text[], $4::text[]) AS u(key, status, detail)
       WHERE a.sink = $1 AND a.idempotency_key = u.key`,
    ),
    earlier: db.statement(`SELECT idempotency_key, status, detail_json FROM ${s}.applied WHERE sink = $1 AND idempotency_key = ANY($2::text[])`),
    forget: db.statement(`DELETE FROM ${s}.applied WHERE sink = $1 AND idempotency_key = ANY($2::text[])`),
    expire: db.statement(`DELETE FROM ${s}.applied WHERE sink = $1 AND applied_at < $2`),
  };

  /**
   * Holds the pipeline's fence at `ctx.epoch` for the rest of the transaction, advancing it when the
   * epoch is new, or throws {@link StaleEpochError} when a higher epoch has written. First in the
   * transaction, before any key is claimed, so its lock never waits in a cycle with the claims.
   */
  async function holdFence(client: PostgresClientOf<P>, ctx: SinkWriteContext): Promise<void> {
    const where = `sink \`${name}\`.write`;
    const epoch = checkInteger(ctx.epoch, 'ctx.epoch', where);
    const pipelineId = checkText(ctx.pipelineId, 'ctx.pipelineId', where);
    // Twice at most: an advance that finds the fence already at or past `epoch` has locked that row, so
    // the second look sees it.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const held = (await db.queryOn(client, sql.fenceHeld, [name, pipelineId, epoch])).rows[0];
      if (held !== undefined) {
        const current = toNumber(held['epoch']);
        if (current > epoch) throw new StaleEpochError(name, pipelineId, epoch, current);
        return;
      }
      if ((await db.queryOn(client, sql.fenceAdvance, [name, pipelineId, epoch])).rows.length > 0) return;
    }
    throw new FatalError(
      `Sink \`${name}\`: the epoch fence of pipeline \`${pipelineId}\` in ${s}.sink_fences changed while it was being checked; nothing was written. ` +
        'Something other than syncline is deleting rows of that table: stop it.',
    );
  }

  /** The transaction's body: check the fence, claim, write the new, record outcomes, answer the old. */
  async function apply(client: PostgresClientOf<P>, records: readonly SinkRecord<T>[], ctx: SinkWriteContext): Promise<SinkResult[]> {
    if (fence) await holdFence(client, ctx);
    // Stored escaped (NUL and lone surrogates included), like every key of the stores.
    const keys = [...new Set(records.map((r) => storedKey(r.idempotencyKey, 'idempotencyKey', `sink \`${name}\`.write`)))].sort();
    const claimed = new Set(
      (await db.queryOn(client, sql.claim, [name, keys, ctx.clock.now(), ctx.runId])).rows.map((row) => String(row['idempotency_key'])),
    );
    const fresh: SinkRecord<T>[] = [];
    const earlier: SinkRecord<T>[] = [];
    const seen = new Set<string>();
    for (const record of records) {
      // A second copy of one idempotency key in a batch is the same effect: write it once.
      if (seen.has(record.idempotencyKey)) continue;
      seen.add(record.idempotencyKey);
      (claimed.has(encodeKey(record.idempotencyKey)) ? fresh : earlier).push(record);
    }
    const results: SinkResult[] = [];
    if (fresh.length > 0) {
      const own = (await userWrite(client, fresh, ctx)) ?? [];
      const byKey = new Map(fresh.map((record) => [record.key, encodeKey(record.idempotencyKey)]));
      const dropped: string[] = [];
      const outcome: { key: string[]; status: string[]; detail: string[] } = { key: [], status: [], detail: [] };
      for (const result of own) {
        results.push(result);
        const key = byKey.get(result.key);
        if (key === undefined) continue;
        if (result.status === 'failed') dropped.push(key);
        else if (result.status === 'skipped' || result.ref !== undefined) {
          outcome.key.push(key);
          outcome.status.push(result.status);
          outcome.detail.push(
            result.status === 'skipped'
              ? toJsonText(String(result.reason), 'a skip reason')
              : toJsonText(result.ref, `the ref of record \`${result.key}\` written by sink \`${name}\``),
          );
        }
      }
      if (dropped.length > 0) await db.queryOn(client, sql.drop, [name, dropped]);
      if (outcome.key.length > 0) await db.queryOn(client, sql.outcome, [name, outcome.key, outcome.status, outcome.detail]);
    }
    if (earlier.length > 0) {
      const { rows } = await db.queryOn(client, sql.earlier, [name, earlier.map((r) => encodeKey(r.idempotencyKey))]);
      const stored = new Map(rows.map((row) => [String(row['idempotency_key']), row]));
      for (const record of earlier) {
        const row = stored.get(encodeKey(record.idempotencyKey));
        if (row === undefined || row['detail_json'] === null) continue;
        const detail = parseStoredJson<unknown>(
          row['detail_json'],
          `The stored outcome of \`${record.idempotencyKey}\` in ${s}.applied`,
          'The row was edited or damaged: fix its detail_json, or delete the row to write the record again.',
        );
        results.push(
          row['status'] === 'skipped'
            ? { key: record.key, status: 'skipped', reason: String(detail) }
            : { key: record.key, status: 'written', ref: detail as NonNullable<Extract<SinkResult, { status: 'written' }>['ref']> },
        );
      }
    }
    return results;
  }

  return {
    name,
    async write(records, ctx) {
      throwIfAborted(ctx.signal);
      if (records.length === 0) return;
      await db.ready();
      throwIfAborted(ctx.signal);
      const client = (await pool.connect()) as PostgresClientOf<P> & PostgresPoolClient;
      let broken: Error | false = false;
      try {
        await client.query({ text: 'BEGIN' });
        try {
          const results = await apply(client, records, ctx);
          const committed = await client.query({ text: 'COMMIT' });
          // COMMIT of a transaction a failed statement aborted answers ROLLBACK, without an error.
          if ((committed as { command?: unknown }).command === 'ROLLBACK') {
            throw new FatalError(
              `Sink \`${name}\`: the transaction was rolled back at COMMIT because a statement in it had failed; nothing was written. ` +
                'A statement error inside `write` aborts the whole transaction: let it throw, or wrap each record in a SAVEPOINT and report it as failed.',
            );
          }
          return results;
        } catch (error) {
          await client.query({ text: 'ROLLBACK' }).catch((rollbackError: unknown) => {
            broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
          });
          throw error;
        }
      } finally {
        client.release(broken);
      }
    },
    migrate: (signal) => db.migrate(signal),
    async deleteAppliedOlderThan(epochMs, signal) {
      const { rowCount } = await db.query(sql.expire, [name, epochMs], signal);
      return rowCount ?? 0;
    },
    async forget(idempotencyKeys, signal) {
      throwIfAborted(signal);
      const keys = idempotencyKeys.map((key) => storedKey(key, 'idempotencyKey', `sink \`${name}\`.forget`));
      if (keys.length === 0) return 0;
      const { rowCount } = await db.query(sql.forget, [name, keys], signal);
      return rowCount ?? 0;
    },
  };
}
