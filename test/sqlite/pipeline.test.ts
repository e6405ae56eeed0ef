import { statSync, truncateSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CheckpointInvalidError } from '../../src/errors/checkpoint-invalid-error.js';
import { pipeline } from '../../src/pipeline/pipeline.js';
import { memorySink } from '../../src/sink/memory-sink.js';
import { memorySource } from '../../src/source/memory-source.js';
import type { Source, SourceRecord } from '../../src/source/source.js';
import { SqliteCorruptError, SqliteSchemaVersionError, sqliteStores, type SqliteStores } from '../../src/sqlite/index.js';
import { useTempFiles } from './support.js';

const nextFile = useTempFiles('sqlite-pipeline');

interface Order {
  readonly id: number;
  readonly email: string;
}

function orders(from: number, to: number): SourceRecord<Order>[] {
  return Array.from({ length: to - from }, (_, i) => {
    const id = from + i;
    return { key: `order-${id}`, data: { id, email: id % 10 === 7 ? 'not-an-email' : `buyer${id}@example.com` } };
  });
}

/** A memory source that counts how often the runtime asked it to read. */
function countingSource(records: readonly SourceRecord<Order>[]): { source: Source<Order, { offset: number }>; reads: () => number } {
  const inner = memorySource(records, { pageSize: 25 });
  let reads = 0;
  return {
    source: {
      name: inner.name,
      cursorSchema: inner.cursorSchema,
      read: (ctx) => {
        reads++;
        return inner.read(ctx);
      },
    },
    reads: () => reads,
  };
}

/** The pipeline under test: skips ids divisible by 5, dead-letters bad e-mails, writes the rest. */
function ordersPipeline(stores: SqliteStores, source: Source<Order, { offset: number }>) {
  const sink = memorySink<Order>();
  const p = pipeline({ id: 'orders-to-invoices', source, stores, batch: { size: 10 }, concurrency: 2 })
    .filter((order) => order.id % 5 !== 0, { reason: 'test order' })
    .validate(z.object({ id: z.number(), email: z.email() }))
    .to(sink);
  return { p, sink };
}

describe('a pipeline on SQLite stores', () => {
  it('records one outcome per record, persists them, and resumes after a restart with new stores on the same file', async () => {
    const file = nextFile();
    const all = orders(0, 200);

    const first = sqliteStores({ path: file });
    const { p, sink } = ordersPipeline(first, countingSource(all).source);
    const summary = await p.run();
    expect(summary).toMatchObject({ status: 'completed', read: 200, skipped: 40, deadLettered: 20, written: 140, inFlight: 0 });
    expect(summary.read).toBe(summary.written + summary.skipped + summary.deadLettered);
    expect(sink.records.size).toBe(140);
    await first.close();

    // A restart: a new process would build new stores over the same file.
    const second = sqliteStores({ path: file });
    const checkpoint = await second.checkpoints.load('orders-to-invoices');
    expect(checkpoint).toMatchObject({ cursor: { offset: 200 }, runId: summary.runId });
    expect(await second.deadLetters.count('orders-to-invoices')).toBe(20);
    const [dl] = await second.deadLetters.list('orders-to-invoices', { key: 'order-7' });
    expect(dl?.error.issues?.[0]?.path).toEqual(['email']);
    expect((await second.audit.query({ pipelineId: 'orders-to-invoices', key: 'order-5' })).map((e) => [e.type, e.reason])).toEqual([['skipped', 'test order']]);
    expect((await second.audit.query({ pipelineId: 'orders-to-invoices', key: 'order-7' })).map((e) => e.type)).toEqual(['dead-lettered']);
    const outcomes = await second.audit.query({ runId: summary.runId, limit: 10_000 });
    expect(outcomes.filter((e) => e.type === 'written')).toHaveLength(140);

    const resumed = countingSource(all);
    const again = await ordersPipeline(second, resumed.source).p.run();
    expect(again).toMatchObject({ status: 'completed', read: 0, written: 0 });

    // New records after the checkpoint are the only ones read next time.
    const more = await ordersPipeline(second, countingSource(orders(0, 230)).source).p.run();
    expect(more).toMatchObject({ read: 30, written: 21, skipped: 6, deadLettered: 3 });
    expect((await second.checkpoints.load('orders-to-invoices'))?.version).toBeGreaterThan(checkpoint?.version ?? 0);
    expect(await second.checkIntegrity()).toEqual([]);
    await second.close();
  });

  it('fails before reading anything when the store file is truncated, too new, or holds a corrupt checkpoint', async () => {
    const setUp = async (): Promise<string> => {
      const file = nextFile();
      const stores = sqliteStores({ path: file });
      await ordersPipeline(stores, countingSource(orders(0, 200)).source).p.run();
      await stores.close();
      return file;
    };
    const runOn = async (file: string): Promise<{ error: unknown; reads: number }> => {
      const counted = countingSource(orders(0, 300));
      const stores = sqliteStores({ path: file });
      const error = await ordersPipeline(stores, counted.source).p.run().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      await stores.close();
      return { error, reads: counted.reads() };
    };

    const truncated = await setUp();
    truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
    const onTruncated = await runOn(truncated);
    expect(onTruncated.error).toBeInstanceOf(SqliteCorruptError);
    expect(onTruncated.error).toMatchObject({ pipelineId: 'orders-to-invoices', path: truncated });
    expect(onTruncated.reads).toBe(0);

    const newer = await setUp();
    const db = new DatabaseSync(newer);
    db.exec("UPDATE syncline_meta SET value = '99' WHERE key = 'schema_version'");
    db.close();
    const onNewer = await runOn(newer);
    expect(onNewer.error).toBeInstanceOf(SqliteSchemaVersionError);
    expect((onNewer.error as Error).message).toContain('pipeline `orders-to-invoices`');
    expect(onNewer.reads).toBe(0);

    const garbled = await setUp();
    const raw = new DatabaseSync(garbled);
    raw.exec("UPDATE syncline_checkpoints SET cursor = 'offset=200'");
    raw.close();
    const onGarbled = await runOn(garbled);
    expect(onGarbled.error).toBeInstanceOf(CheckpointInvalidError);
    expect(onGarbled.error).toMatchObject({ pipelineId: 'orders-to-invoices' });
    expect(onGarbled.reads).toBe(0);
    // The lease was released on the way out: after fixing the row, the next run proceeds.
    const fixed = new DatabaseSync(garbled);
    fixed.exec('UPDATE syncline_checkpoints SET cursor = \'{"offset":200}\'');
    fixed.close();
    const stores = sqliteStores({ path: garbled });
    expect(await ordersPipeline(stores, countingSource(orders(0, 200)).source).p.run()).toMatchObject({ read: 0 });
    await stores.close();
  });
});
