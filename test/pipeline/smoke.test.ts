import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pipeline } from '../../src/pipeline/pipeline.js';
import { memorySource } from '../../src/source/memory-source.js';
import { memorySink } from '../../src/sink/memory-sink.js';
import { callbackSink } from '../../src/sink/callback-sink.js';
import { memoryStores } from '../../src/stores/memory/index.js';
import { PermanentError } from '../../src/errors/permanent-error.js';

describe('pipeline smoke', () => {
  it('runs source → steps → sink and commits', async () => {
    const stores = memoryStores();
    const records = Array.from({ length: 25 }, (_, i) => ({ key: String(i), data: { id: i, email: i === 7 ? 'bad' : `u${i}@x.io` } }));
    const sink = memorySink<{ id: number; email: string }>();
    const p = pipeline({ id: 'smoke', source: memorySource(records, { pageSize: 10 }), stores, batch: { size: 4 }, concurrency: 2 })
      .filter((r) => r.id !== 3, { reason: 'three' })
      .validate(z.object({ id: z.number(), email: z.email() }))
      .to(sink);
    const summary = await p.run();
    expect(summary).toMatchObject({ status: 'completed', read: 25, written: 23, skipped: 1, deadLettered: 1, inFlight: 0 });
    expect(summary.checkpoint).toEqual({ cursor: { offset: 25 }, version: expect.any(Number) });
    expect(sink.records.size).toBe(23);
    const dl = await p.deadLetters.list();
    expect(dl).toHaveLength(1);
    expect(dl[0]!.error.issues?.[0]?.path).toEqual(['email']);
    const trace = await p.trace('3');
    expect(trace.map((e) => e.type)).toEqual(['skipped']);
    const again = await p.run();
    expect(again.read).toBe(0);
  });

  it('partial failures, permanent → dead letter', async () => {
    const stores = memoryStores();
    const records = Array.from({ length: 6 }, (_, i) => ({ key: String(i), data: { id: i } }));
    const sink = callbackSink<{ id: number }>('cb', async (recs) =>
      recs.map((r) => (r.data.id % 2 === 0 ? { key: r.key, status: 'written' as const } : { key: r.key, status: 'failed' as const, error: new PermanentError('odd') })),
    );
    const p = pipeline({ id: 'partial', source: memorySource(records), stores }).to(sink);
    const s = await p.run();
    expect(s).toMatchObject({ written: 3, deadLettered: 3, inFlight: 0 });
    const replay = await p.deadLetters.replay('all');
    expect(replay).toMatchObject({ read: 3, deadLettered: 3 });
    expect(await p.deadLetters.count()).toBe(3);
  });
});
