// Connectors with one bug each, run through the conformance kits by kits-catch-bugs.test.ts, which
// checks that exactly the checks meant to catch each bug fail. Not part of the normal test run.
import { z } from 'zod';
import type { Sink, SinkRecord, SinkResult, Source, SourceRecord } from '../../../src/index.js';
import { describeSink, describeSource } from '../../../src/testing/conformance/index.js';

interface Row {
  readonly n: number;
}
const rows: SourceRecord<Row>[] = Array.from({ length: 7 }, (_, i) => ({ key: `row-${i + 1}`, data: { n: i + 1 } }));
const offset = z.object({ offset: z.number().int().min(0) });

/** A paged source over `records`; `cursorAfter` says what cursor follows the batch ending at `end`. */
function pagedSource<C>(
  records: readonly SourceRecord<Row>[],
  cursorSchema: z.ZodType<C>,
  cursorAfter: (end: number) => C,
  offsetOf: (cursor: C) => number,
  options: { readonly ignoreAbort?: boolean } = {},
): Source<Row, C> {
  return {
    name: 'broken',
    cursorSchema,
    async *read(ctx) {
      for (let at = ctx.cursor === undefined ? 0 : offsetOf(ctx.cursor); at < records.length; at += 2) {
        if (ctx.signal.aborted && !options.ignoreAbort) return;
        await new Promise<void>((resolve) => setImmediate(resolve));
        yield { records: records.slice(at, at + 2), cursor: cursorAfter(Math.min(records.length, at + 2)) };
      }
    },
  };
}

describeSource('resumes one record early', async () => ({
  source: pagedSource(rows, offset, (end) => ({ offset: end - 1 }), (c) => c.offset),
  expected: rows,
}));

describeSource('puts a Date in its cursor', async () => ({
  source: pagedSource(
    rows,
    z.object({ offset: z.number(), at: z.unknown() }),
    (end) => ({ offset: end, at: new Date(Date.UTC(2026, 0, 1)) }),
    (c) => c.offset,
  ),
  expected: rows,
}));

describeSource('ignores its signal', async () => ({
  source: pagedSource(rows, offset, (end) => ({ offset: end }), (c) => c.offset, { ignoreAbort: true }),
  expected: rows,
}));

describeSource('accepts any cursor', async () => ({
  source: pagedSource(rows, z.any(), (end) => ({ offset: end }), (c: { offset: number }) => c.offset),
  expected: rows,
}));

describeSource('yields an empty key', async () => {
  const withEmpty = rows.map((r, i) => (i === 3 ? { ...r, key: '' } : r));
  return { source: pagedSource(withEmpty, offset, (end) => ({ offset: end }), (c) => c.offset), expected: withEmpty };
});

/** A remote that keeps every write; `dedupe` makes it honour idempotency keys. */
function brokenSink(
  answer: (records: readonly SinkRecord<Row>[]) => readonly SinkResult[] | undefined,
  options: { readonly dedupe?: boolean; readonly checkAbort?: boolean } = {},
) {
  const held: SinkRecord<Row>[] = [];
  const sink: Sink<Row> = {
    name: 'broken',
    async write(records, ctx) {
      if (options.checkAbort !== false && ctx.signal.aborted) throw ctx.signal.reason;
      const results = answer(records);
      const failed = new Set((results ?? []).filter((r) => r.status === 'failed').map((r) => r.key));
      for (const record of records) {
        if (failed.has(record.key)) continue;
        if (options.dedupe !== false && held.some((h) => h.idempotencyKey === record.idempotencyKey)) continue;
        held.push(record);
      }
      return results;
    },
  };
  return { sink, data: (key: string): Row => ({ n: key.length }), readBack: async () => held.map((r) => ({ key: r.key, data: r.data })) };
}

describeSink<Row>('answers for a key not in the batch', async () =>
  brokenSink((records) => [...records.map((r) => ({ key: r.key, status: 'written' as const })), { key: 'ghost', status: 'written' as const }]),
);

describeSink<Row>('ignores idempotency keys', async () => brokenSink(() => undefined, { dedupe: false }));

describeSink<Row>('ignores an aborted signal', async () => brokenSink(() => undefined, { checkAbort: false }));

describeSink<Row>('fails the whole batch for one bad record', async ({ failKeys }) => ({
  ...brokenSink((records) =>
    records.some((r) => failKeys.includes(r.key)) ? records.map((r) => ({ key: r.key, status: 'failed' as const, error: new Error('refused') })) : undefined,
  ),
  failures: true,
}));

describeSink<Row>(
  'hangs past its signal',
  async ({ stallKeys }) => {
    const base = brokenSink(() => undefined);
    return {
      ...base,
      sink: {
        name: 'broken',
        write: (records, ctx) => (records.some((r) => stallKeys.includes(r.key)) ? new Promise<never>(() => undefined) : base.sink.write(records, ctx)),
      },
      stalls: true,
    };
  },
  { abortTimeoutMs: 200 },
);
