// The outcome ledger driven alone, against a model a reader can check by eye: pages of records whose
// outputs (some expanded by a flatMap into several derived records, some dead-lettered at intake) get
// their outcomes in a random order, one by one or as bulk runs of a sink batch.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ledger, WRITTEN, SKIPPED, DEAD, type Outcome, type Page } from '../../src/pipeline/ledger.js';
import { AuditTrail } from '../../src/pipeline/audit-trail.js';
import { MemoryAuditStore } from '../../src/stores/memory/memory-audit-store.js';
import { FakeClock } from '../../src/testing/index.js';
import type { DeadLetter } from '../../src/stores/dead-letter-store.js';

interface PagePlan {
  /** Per source record, how many outputs it has (1, or 0–3 when the page is expanded). */
  readonly outputs: number[];
  readonly expanded: boolean;
}

const pagePlan: fc.Arbitrary<PagePlan> = fc.oneof(
  fc.array(fc.constant(1), { minLength: 0, maxLength: 6 }).map((outputs) => ({ outputs, expanded: false })),
  fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }).map((outputs) => ({ outputs, expanded: true })),
);

/** One output's outcome, reported individually or as part of a bulk run. */
interface Report {
  readonly page: number;
  readonly origin: number;
  readonly outcome: Outcome;
}

const worst = (outcomes: Outcome[]): Outcome => outcomes.reduce((a, b) => (b > a ? b : a), WRITTEN as Outcome);

function entry(key: string): DeadLetter {
  return { id: key, pipelineId: 'p', runId: 'r', key, stage: 'sink', data: null, error: { name: 'E', message: 'm', errorClass: 'permanent' }, attempts: [], position: { cursor: null, index: 0 }, createdAt: 0 };
}

describe('outcome ledger (property, against a model)', () => {
  it('counts each source record once with its worst outcome, and hands over only fully handled pages, in order', () => {
    fc.assert(
      fc.property(
        fc.array(pagePlan, { minLength: 1, maxLength: 6 }),
        fc.array(fc.constantFrom<Outcome>(WRITTEN, WRITTEN, SKIPPED, DEAD), { minLength: 60, maxLength: 60 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
        fc.boolean(),
        (plans, outcomeDraw, order, trackOutcomes) => {
          const clock = new FakeClock({ now: 0 });
          const trail = new AuditTrail({ store: new MemoryAuditStore(), write: async () => undefined, payload: false, redact: [], pipelineId: 'p', runId: 'r', clock, replay: false });
          let done = 0;
          const emitted: string[] = [];
          const ledger = new Ledger(trail, { pageDone: () => done++, deadLettered: (e) => emitted.push(e.key) }, { trackOutcomes });
          ledger.resume({ at: 'start' });

          // Open every page, announce its outputs, and list every output's outcome to report.
          const pages: Page[] = [];
          const pending: Report[] = [];
          let draw = 0;
          const expected = { written: 0, skipped: 0, deadLettered: 0 };
          const finals: Outcome[][] = [];
          plans.forEach((plan, p) => {
            const records = plan.outputs.map((_, i) => ({ key: `p${p}-r${i}`, data: i }));
            const page = ledger.open(records, { page: p }, 0);
            expect(page.prevCursor).toEqual(p === 0 ? { at: 'start' } : { page: p - 1 });
            const total = plan.outputs.reduce((a, b) => a + b, 0);
            ledger.expect(page, total, plan.expanded ? Int32Array.from(plan.outputs) : undefined);
            pages.push(page);
            const recordFinals: Outcome[] = [];
            plan.outputs.forEach((count, origin) => {
              const outs: Outcome[] = [];
              for (let k = 0; k < count; k++) {
                const outcome = outcomeDraw[draw++ % outcomeDraw.length]!;
                outs.push(outcome);
                pending.push({ page: p, origin, outcome });
              }
              const final = worst(outs);
              recordFinals.push(final);
              if (final === WRITTEN) expected.written++;
              else if (final === SKIPPED) expected.skipped++;
              else expected.deadLettered++;
            });
            finals.push(recordFinals);
          });

          // Seal pages in order at random moments; report outcomes in a random order.
          let sealed = 0;
          let committed = 0;
          const reported = new Set<Report>();
          const isHandled = (p: number): boolean => pages[p]!.sealed && pending.every((r) => r.page !== p || reported.has(r));
          for (const pick of order) {
            if (pick % 3 === 0 && sealed < pages.length) ledger.seal(pages[sealed++]!);
            const open = pending.filter((r) => !reported.has(r));
            if (open.length > 0) {
              const report = open[pick % open.length]!;
              const page = pages[report.page]!;
              const detail = { childKey: plans[report.page]!.expanded ? `c${pick}` : undefined, attempt: 1 };
              // A bulk run of written outputs: only where the ledger allows it (plain pages, no per-record tracking).
              if (report.outcome === WRITTEN && !plans[report.page]!.expanded && pick % 2 === 0) {
                const run = open.filter((r) => r.page === report.page && r.outcome === WRITTEN);
                if (ledger.writtenRun(page, run.map((r) => ({ key: page.records[r.origin]!.key })), 0, run.length, 1)) {
                  for (const r of run) reported.add(r);
                  expect(trackOutcomes).toBe(false);
                } else {
                  expect(trackOutcomes || plans[report.page]!.expanded).toBe(true);
                }
              }
              if (!reported.has(report)) {
                reported.add(report);
                if (report.outcome === WRITTEN) ledger.written(page, report.origin, detail);
                else if (report.outcome === SKIPPED) ledger.skipped(page, report.origin, { ...detail, reason: 'filtered' });
                else ledger.deadLetteredOne(page, report.origin, entry(page.records[report.origin]!.key), new Error('bad'), 1);
              }
            }
            // The committer's question: what may be committed now? Exactly the handled prefix, in order.
            let prefix = committed;
            while (prefix < pages.length && isHandled(prefix)) prefix++;
            const taken = ledger.takeCommittable();
            if (prefix === committed) expect(taken).toBeUndefined();
            else {
              expect(taken!.pages.map((page) => page.seq)).toEqual(pages.slice(committed, prefix).map((page) => page.seq));
              expect(taken!.last.cursor).toEqual({ page: prefix - 1 });
              for (const page of taken!.pages) expect(page.pending).toBe(0);
              committed = prefix;
              ledger.committed();
            }
            // Never more handled-but-uncommitted outputs than outputs reported.
            expect(ledger.handledUncommitted()).toBeLessThanOrEqual(reported.size);
          }
          // Finish: seal the rest, report the rest, commit the rest.
          while (sealed < pages.length) ledger.seal(pages[sealed++]!);
          for (const report of pending) {
            if (reported.has(report)) continue;
            reported.add(report);
            const page = pages[report.page]!;
            const detail = { childKey: plans[report.page]!.expanded ? 'c' : undefined, attempt: 1 };
            if (report.outcome === WRITTEN) ledger.written(page, report.origin, detail);
            else if (report.outcome === SKIPPED) ledger.skipped(page, report.origin, { ...detail, reason: 'filtered' });
            else ledger.deadLetteredOne(page, report.origin, entry(page.records[report.origin]!.key), new Error('bad'), 1);
          }
          const rest = ledger.takeCommittable();
          expect(committed + (rest?.pages.length ?? 0)).toBe(pages.length);

          const read = plans.reduce((a, plan) => a + plan.outputs.length, 0);
          expect(ledger.counts).toMatchObject({ read, ...expected, batches: pages.length });
          expect(ledger.inFlight).toBe(0);
          if (trackOutcomes) pages.forEach((page, p) => expect(Array.from(page.outcomes!)).toEqual(finals[p]));
          // A page completes (the committer is asked) at least once for every page with outputs.
          expect(done).toBeGreaterThanOrEqual(1);
          expect(emitted.length).toBe(pending.filter((r) => r.outcome === DEAD).length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
