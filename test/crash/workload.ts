/**
 * The crash tests' workload: a deterministic source of N records whose expected outcomes are known in
 * advance, so the checker can judge from the stores and the sink table alone.
 */
import { z } from 'zod';
import type { Source, SourceBatch } from '../../src/index.js';

export interface CrashRecord {
  readonly id: number;
  readonly amount: number;
  readonly currency: string;
}

export type Expected = 'written' | 'skipped' | 'dead';

/** Every 50th record (offset 7) is filtered out, every 97th (13) fails validation, every 89th (21) is rejected by the sink. */
export function expectedOutcome(i: number): Expected {
  if (i % 50 === 7) return 'skipped';
  if (i % 97 === 13) return 'dead';
  if (i % 89 === 21) return 'dead';
  return 'written';
}

export const sinkRejects = (i: number): boolean => i % 89 === 21 && i % 50 !== 7 && i % 97 !== 13;

export const keyOf = (i: number): string => `r${String(i).padStart(7, '0')}`;
export const indexOf = (key: string): number => Number(key.slice(1));

export function recordAt(i: number): CrashRecord {
  return { id: i, amount: (i * 37) % 1000, currency: i % 97 === 13 ? 'XXX' : 'EUR' };
}

export const CrashRecordSchema = z.object({ id: z.number().int(), amount: z.number(), currency: z.enum(['EUR', 'USD']) });

/** Pages of `pageSize` records from `offset`, generated on the fly. */
export function crashSource(n: number, pageSize: number, pageDelayMs: number): Source<CrashRecord, { offset: number }> {
  return {
    name: 'generated',
    cursorSchema: z.object({ offset: z.number().int().min(0) }),
    read: (ctx) => ({
      async *[Symbol.asyncIterator](): AsyncGenerator<SourceBatch<CrashRecord, { offset: number }>> {
        for (let offset = ctx.cursor?.offset ?? 0; offset < n && !ctx.signal.aborted; offset += pageSize) {
          const end = Math.min(n, offset + pageSize);
          const records = [];
          for (let i = offset; i < end; i++) records.push({ key: keyOf(i), data: recordAt(i) });
          // A real source waits on the network; this keeps runs long enough to be killed mid-way.
          await new Promise<void>((resolve) => (pageDelayMs > 0 ? setTimeout(resolve, pageDelayMs) : setImmediate(resolve)));
          yield { records, cursor: { offset: end } };
        }
      },
    }),
  };
}
