// The arms of the benchmark. Each one processes `total` generated records and returns what it delivered,
// so the orchestrator can check that every arm did all of the work before comparing times.
//
// Pairs that are compared run identical per-record work (bench/workload.mjs): the hand-written loops are
// what an author would write without syncline, the pipelines are the shortest syncline equivalent.
import { dirname, join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { Effect, Stream } from 'effect';
import { bufferCount, concatMap, from, lastValueFrom, map, mergeMap } from 'rxjs';
import { z } from 'zod';
import { LOOP_SCHEMA, LOOP_SQL, openLikeSyncline, tempDatabase, verifyDurable } from './sqlite-durable.mjs';
import { BATCH, compiledOrderSchema, countingAuditStore, countingSink, makePage, mapOrder, orderSchema } from './workload.mjs';

// The built package, as users get it. BENCH_DIST names another build's index.js (a path) to compare a
// change in src against the current build. Either way, build first.
const { memoryStores, pipeline, rateLimiter } = await import(
  process.env.BENCH_DIST ? pathToFileURL(process.env.BENCH_DIST).href : '../dist/index.js'
);
/** `syncline/sqlite` of the same build, loaded only by the arms that use it. */
const sqliteModule = () =>
  import(process.env.BENCH_DIST ? pathToFileURL(join(dirname(process.env.BENCH_DIST), 'sqlite', 'index.js')).href : '../dist/sqlite/index.js');

const PIPELINE_ID = 'bench';
const ID_PREFIX = `${PIPELINE_ID}:`;

/**
 * A paged source over the generated stream: one page per `read` step, resuming after the committed offset.
 * The same `makePage` the hand-written loops call.
 */
function generatedSource(total) {
  return {
    name: 'generated',
    cursorSchema: z.object({ offset: z.number().int().min(0) }),
    read(ctx) {
      return {
        async *[Symbol.asyncIterator]() {
          for (let offset = ctx.cursor?.offset ?? 0; offset < total; offset += BATCH) {
            const end = Math.min(total, offset + BATCH);
            yield { records: makePage(offset, end - offset), cursor: { offset: end } };
          }
        },
      };
    },
  };
}

// ── variant 1: source → map → sink ───────────────────────────────────────────────────────────────

async function mapLoop(total) {
  const sink = countingSink();
  for (let offset = 0; offset < total; offset += BATCH) {
    const page = makePage(offset, Math.min(BATCH, total - offset));
    const out = page.map((record) => ({ key: record.key, idempotencyKey: ID_PREFIX + record.key, data: mapOrder(record.data) }));
    await sink.write(out);
  }
  return { delivered: sink.records };
}

// ── variant 1 in other stream libraries ─────────────────────────────────────────────────────────
//
// What a user would write in each library for variant 1: the pages of the same source generator the
// syncline arm reads (cursors ignored), flattened to one element per record, the same sink record built
// around `mapOrder`, rebatched to BATCH and written to the same counting sink one batch at a time.
// Nothing else: no checkpoints, no duplicate-key check, no retries, no outcome accounting, no audit.
// Each returns the sink's batch count too, which run-one.mjs checks, so a peer cannot win by writing
// bigger batches.

/** The sink record of variant 1: what `mapLoop` builds and what the syncline sink receives. */
const toSinkRecord = (record) => ({ key: record.key, idempotencyKey: ID_PREFIX + record.key, data: mapOrder(record.data) });

/** The pages of `generatedSource(total)`, read from the start as a run without a checkpoint reads them. */
const sourcePages = (total) => generatedSource(total).read({});

/**
 * Node streams: `Readable.from` over the pages, an object-mode `Transform` that pushes one sink record per
 * source record, and an object-mode `Writable` that collects BATCH of them per sink write, joined by
 * `stream/promises` `pipeline` (which propagates errors and destroys every stage on failure).
 */
async function mapNodeStream(total) {
  const sink = countingSink();
  let batch = [];
  await streamPipeline(
    sourcePages(total),
    new Transform({
      objectMode: true,
      transform(page, _encoding, callback) {
        for (const record of page.records) this.push(toSinkRecord(record));
        callback();
      },
    }),
    new Writable({
      objectMode: true,
      write(record, _encoding, callback) {
        batch.push(record);
        if (batch.length < BATCH) return callback();
        const full = batch;
        batch = [];
        sink.write(full).then(() => callback(), callback);
      },
      final(callback) {
        if (batch.length === 0) return callback();
        sink.write(batch).then(() => callback(), callback);
      },
    }),
  );
  return { delivered: sink.records, batches: sink.batches };
}

/**
 * RxJS: `from` the pages, `mergeMap` each page to its records, `map` to the sink record, `bufferCount`
 * to BATCH, `concatMap` the sink write (one at a time, in order). RxJS has no back-pressure: `from`
 * pulls the async iterable as fast as it yields, and `concatMap` queues the batches behind the sink.
 */
async function mapRxjs(total) {
  const sink = countingSink();
  await lastValueFrom(
    from(sourcePages(total)).pipe(
      mergeMap((page) => page.records),
      map(toSinkRecord),
      bufferCount(BATCH),
      concatMap((records) => sink.write(records)),
    ),
    { defaultValue: undefined },
  );
  return { delivered: sink.records, batches: sink.batches };
}

/**
 * Effect: `Stream.fromAsyncIterable` over the pages, `flattenIterable` to records, `Stream.map` to the
 * sink record, `Stream.grouped` to BATCH, `Stream.runForEach` with the sink write as `Effect.tryPromise`.
 */
async function mapEffect(total) {
  const sink = countingSink();
  await Effect.runPromise(
    Stream.fromAsyncIterable(sourcePages(total), (cause) => cause).pipe(
      Stream.map((page) => page.records),
      Stream.flattenIterable,
      Stream.map(toSinkRecord),
      Stream.grouped(BATCH),
      Stream.runForEach((records) => Effect.tryPromise(() => sink.write(records))),
    ),
  );
  return { delivered: sink.records, batches: sink.batches };
}

/** Variant 1 through syncline; `audit` (a store) turns audit on, `limiter` adds a rate limiter. */
async function mapPipeline(total, { limiter, audit } = {}) {
  const sink = countingSink();
  const summary = await pipeline({
    id: PIPELINE_ID,
    source: generatedSource(total),
    stores: audit ? { ...memoryStores(), audit } : memoryStores(),
    batch: { size: BATCH },
    audit: audit ? {} : false,
    ...(limiter ? { rateLimit: limiter } : {}),
  })
    .map(mapOrder)
    .to(sink)
    .run();
  return { delivered: sink.records, ...(audit ? { audited: audit.events } : {}), summary };
}

// ── variant 2: source → validate → map → sink, audit of final outcomes ───────────────────────────

async function validateLoop(total, schema, audit = countingAuditStore()) {
  const sink = countingSink();
  const runId = `run_${Date.now().toString(36)}`;
  for (let offset = 0; offset < total; offset += BATCH) {
    const readAt = Date.now();
    const page = makePage(offset, Math.min(BATCH, total - offset));
    const out = [];
    const events = [];
    for (const record of page) {
      const parsed = schema.safeParse(record.data);
      if (!parsed.success) {
        // Never taken with the generated data; here so the loop does what a real one must.
        events.push({ at: Date.now(), pipelineId: PIPELINE_ID, runId, type: 'dead-lettered', key: record.key, attempt: 1, durationMs: 0 });
        continue;
      }
      out.push({ key: record.key, idempotencyKey: ID_PREFIX + record.key, data: mapOrder(parsed.data) });
    }
    await sink.write(out);
    const at = Date.now();
    for (const record of out) {
      events.push({ at, pipelineId: PIPELINE_ID, runId, type: 'written', key: record.key, attempt: 1, durationMs: at - readAt });
    }
    await audit.write(events);
  }
  return { delivered: sink.records, audited: audit.events };
}

async function validatePipeline(total, { compile = true, audit = countingAuditStore() } = {}) {
  const sink = countingSink();
  const stores = { ...memoryStores(), audit };
  const summary = await pipeline({ id: PIPELINE_ID, source: generatedSource(total), stores, batch: { size: BATCH } })
    .validate(orderSchema, { compile })
    .map(mapOrder)
    .to(sink)
    .run();
  return { delivered: sink.records, audited: audit.events, summary };
}

// ── variant 5: as 2, durable: SQLite checkpoints, dead letters and audit ────────────────────────
//
// Both arms get a fresh file in the OS temp dir, created with its schema in setup and deleted in
// teardown (both untimed); teardown also checks the audit rows and the last committed cursor.

/**
 * What an author writes without syncline: per page, the same zod parse and map, the sink write, then one
 * transaction inserting one audit row per record (JSON of the same event syncline writes, into a table
 * with syncline's columns and indexes) and one transaction upserting the checkpoint row. `oneTransaction`
 * puts both in one transaction, which syncline cannot do: its audit and checkpoint stores are separate.
 */
async function durableLoop(total, { db }, { oneTransaction = false } = {}) {
  const sink = countingSink();
  const runId = `run_${Date.now().toString(36)}`;
  const insertAudit = db.prepare(LOOP_SQL.insertAudit);
  const insertDeadLetter = db.prepare(LOOP_SQL.insertDeadLetter);
  const upsertCheckpoint = db.prepare(LOOP_SQL.upsertCheckpoint);
  const transaction = (fn) => {
    db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };
  let version = 0;
  for (let offset = 0; offset < total; offset += BATCH) {
    const readAt = Date.now();
    const end = Math.min(total, offset + BATCH);
    const page = makePage(offset, end - offset);
    const out = [];
    const dead = [];
    for (const record of page) {
      const parsed = compiledOrderSchema.safeParse(record.data);
      if (!parsed.success) {
        // Never taken with the generated data; here so the loop does what a real one must.
        dead.push({ record, message: parsed.error.message });
        continue;
      }
      out.push({ key: record.key, idempotencyKey: ID_PREFIX + record.key, data: mapOrder(parsed.data) });
    }
    await sink.write(out);
    const at = Date.now();
    const cursor = JSON.stringify({ offset: end });
    const commit = () => upsertCheckpoint.run(PIPELINE_ID, cursor, ++version, Date.now(), runId);
    transaction(() => {
      for (const record of out) {
        const event = { at, pipelineId: PIPELINE_ID, runId, type: 'written', key: record.key, attempt: 1, durationMs: at - readAt };
        insertAudit.run(at, PIPELINE_ID, runId, 'written', record.key, JSON.stringify(event));
      }
      for (const { record, message } of dead) {
        const entry = { pipelineId: PIPELINE_ID, id: `${runId}:${record.key}`, key: record.key, data: record.data, error: message, createdAt: at };
        insertDeadLetter.run(PIPELINE_ID, entry.id, record.key, at, JSON.stringify(entry));
        const event = { at, pipelineId: PIPELINE_ID, runId, type: 'dead-lettered', key: record.key, attempt: 1, durationMs: at - readAt };
        insertAudit.run(at, PIPELINE_ID, runId, 'dead-lettered', record.key, JSON.stringify(event));
      }
      if (oneTransaction) commit();
    });
    if (!oneTransaction) transaction(commit);
  }
  return { delivered: sink.records };
}

/** Variant 5 through syncline: `sqliteStores()` for checkpoints, dead letters and audit (on, the default). */
async function durablePipeline(total, { stores }) {
  const sink = countingSink();
  const summary = await pipeline({ id: PIPELINE_ID, source: generatedSource(total), stores, batch: { size: BATCH } })
    .validate(orderSchema)
    .map(mapOrder)
    .to(sink)
    .run();
  return { delivered: sink.records, summary };
}

/**
 * The arm of a durable run. run-one.mjs reads `audited` after teardown, which counts the rows, so the
 * count stays out of the timed part.
 */
function durableArm({ setup, run, close, tables }) {
  return {
    async setup() {
      const file = tempDatabase();
      try {
        return { file, ...(await setup(file.path)) };
      } catch (error) {
        file.remove();
        throw error;
      }
    },
    async run(total, resources) {
      const result = await run(total, resources);
      resources.total = total;
      return Object.defineProperty(result, 'audited', { get: () => resources.audited, enumerable: true });
    },
    async teardown(resources) {
      try {
        await close(resources);
        resources.audited = verifyDurable(resources.file.path, { pipelineId: PIPELINE_ID, total: resources.total, ...tables });
      } finally {
        resources.file.remove();
      }
    },
  };
}

/** The hand-written durable arm: its own tables, made by `LOOP_SCHEMA` in a file opened as syncline opens one. */
function durableLoopArm(options) {
  return {
    setup(path) {
      const db = openLikeSyncline(path);
      db.exec(LOOP_SCHEMA);
      return { db };
    },
    run: (total, resources) => durableLoop(total, resources, options),
    close: ({ db }) => db.close(),
    tables: { auditTable: 'audit', checkpointTable: 'checkpoints' },
  };
}

/**
 * A rate limit that does not bind: a run makes 2,000 sink writes (1M records / 500) in well under a second,
 * and the first one-second window alone allows 10,000. The limiter still takes a permit for every write and
 * draws permits from bottleneck in batches of 500 (its default `permitBatch`, limit / 20).
 */
export const NON_BINDING_RPS = 10_000;

/**
 * Every arm by name. `setup()` (untimed) returns the resources an arm needs; `teardown()` (untimed) frees
 * them, e.g. the limiter's bottleneck timers.
 */
export const arms = {
  'map/loop': { run: (total) => mapLoop(total) },
  'map/syncline': { run: (total) => mapPipeline(total) },
  'map/node-stream': { run: (total) => mapNodeStream(total) },
  'map/rxjs': { run: (total) => mapRxjs(total) },
  'map/effect': { run: (total) => mapEffect(total) },
  'map+limiter/syncline': {
    setup: () => ({ limiter: rateLimiter({ name: 'bench', requestsPerSecond: NON_BINDING_RPS }) }),
    run: (total, { limiter }) => mapPipeline(total, { limiter }),
    teardown: ({ limiter }) => limiter.stop(),
  },
  'validate/loop': { run: (total) => validateLoop(total, compiledOrderSchema) },
  'validate/syncline': { run: (total) => validatePipeline(total) },
  'validate-interpreted/loop': { run: (total) => validateLoop(total, orderSchema) },
  'validate-interpreted/syncline': { run: (total) => validatePipeline(total, { compile: false }) },
  // The memory variant: variant 1 (audit off). Under a 64 MB heap every arm, hand-written ones included,
  // runs several times slower (V8 collects the old generation over and over), so the heavier pipelines
  // would blow the time budget; `memory-audit/syncline` is the audit-on variant for a manual check.
  'memory/syncline': { run: (total) => mapPipeline(total) },
  'memory-audit/syncline': { run: (total) => mapPipeline(total, { audit: countingAuditStore() }) },
  'durable/loop': durableArm(durableLoopArm({ oneTransaction: false })),
  // For a manual check of what the second transaction per page costs the loop.
  'durable-one-tx/loop': durableArm(durableLoopArm({ oneTransaction: true })),
  'durable/syncline': durableArm({
    async setup(path) {
      const { sqliteStores } = await sqliteModule();
      const stores = sqliteStores({ path });
      // Opens, sets WAL and synchronous=NORMAL, and creates the tables now rather than in the timed run.
      await stores.migrate();
      return { stores };
    },
    run: durablePipeline,
    close: ({ stores }) => stores.close(),
    tables: { auditTable: 'syncline_audit', checkpointTable: 'syncline_checkpoints' },
  }),
};
