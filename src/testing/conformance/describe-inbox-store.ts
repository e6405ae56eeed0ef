import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboxMessage, InboxStore } from '../../stores/inbox-store.js';
import { abortedSignal, conformanceEpoch, hostileString, propertyRuns, surrogateTwins, uniqueName, useSubject, type ConformanceFactory } from './harness.js';

function message(id: string, overrides: Partial<InboxMessage> = {}): InboxMessage {
  return {
    id,
    receivedAt: conformanceEpoch,
    headers: { 'content-type': 'application/json', 'webhook-id': id },
    body: JSON.stringify({ id, amount: 10 }),
    ...overrides,
  };
}

/**
 * The conformance suite of {@link InboxStore}: dedup by id, strictly increasing sequence numbers (also
 * under concurrent appends and after pruning), reading in order with `afterSeq`/`limit`, bodies kept
 * byte for byte, arbitrary strings as inbox names, ids, headers and bodies (NUL and lone surrogates
 * included: properties checked with fast-check), retention and aborted calls. Call it from a vitest test file; it registers
 * `describe`/`it` blocks, so it runs only inside vitest.
 *
 * @example
 * ```ts
 * import { MemoryInboxStore } from 'syncline';
 * import { describeInboxStore } from 'syncline/testing/conformance';
 *
 * describeInboxStore('memory', async () => ({ store: new MemoryInboxStore() }));
 * ```
 * @see {@link ConformanceFactory} for what the factory receives and returns.
 */
export function describeInboxStore(name: string, factory: ConformanceFactory<InboxStore>): void {
  describe(`InboxStore conformance: ${name}`, () => {
    const subject = useSubject(factory);

    it('reads nothing from an empty inbox', async () => {
      const { store } = subject();
      expect(await store.read(uniqueName('inbox'), 0, 100)).toEqual([]);
    });

    it('appends with strictly increasing sequence numbers from 1 up, and reads every field back in order', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const messages = ['m1', 'm2', 'm3'].map((id, i) => message(id, { receivedAt: conformanceEpoch + i }));
      const seqs: number[] = [];
      for (const m of messages) {
        const result = await store.append(inbox, m);
        expect(result.inserted).toBe(true);
        seqs.push(result.seq);
      }
      expect(seqs[0]).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] ?? Number.POSITIVE_INFINITY);
      expect(await store.read(inbox, 0, 100)).toEqual(messages.map((m, i) => ({ ...m, seq: seqs[i] })));
    });

    it('keeps ids differing only in a lone surrogate apart', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      for (const id of surrogateTwins) expect((await store.append(inbox, message(id))).inserted).toBe(true);
      expect((await store.read(inbox, 0, 100)).map((e) => e.id)).toEqual([...surrogateTwins]);
    });

    it('gives back exactly the messages appended under any inbox name, ids, headers and bodies included', async () => {
      const { store } = subject();
      const messageOf = fc.record({
        id: hostileString(),
        body: hostileString(40),
        headers: fc.dictionary(hostileString(4), hostileString(), { maxKeys: 3 }),
      });
      await fc.assert(
        fc.asyncProperty(hostileString(), fc.uniqueArray(messageOf, { minLength: 1, maxLength: 5, selector: (m) => m.id }), async (suffix, fields) => {
          const inbox = uniqueName('inbox') + suffix;
          const messages = fields.map((m, i) => ({ ...m, receivedAt: conformanceEpoch + i }));
          const seqs: number[] = [];
          for (const m of messages) {
            const result = await store.append(inbox, m);
            expect(result.inserted).toBe(true);
            seqs.push(result.seq);
          }
          const [first] = messages;
          if (first !== undefined) expect(await store.append(inbox, { ...first, body: 'again' })).toEqual({ inserted: false, seq: seqs[0] });
          expect(await store.read(inbox, 0, 100)).toEqual(messages.map((m, i) => ({ ...m, seq: seqs[i] })));
        }),
        { numRuns: propertyRuns },
      );
    });

    it('stores a redelivered id once: the first message stays and its seq is returned', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const first = await store.append(inbox, message('dup'));
      await store.append(inbox, message('other'));
      const again = await store.append(inbox, message('dup', { body: 'changed', receivedAt: conformanceEpoch + 5 }));
      expect(again).toEqual({ inserted: false, seq: first.seq });
      const entries = await store.read(inbox, 0, 100);
      expect(entries.map((e) => e.id)).toEqual(['dup', 'other']);
      expect(entries[0]).toEqual({ ...message('dup'), seq: first.seq });
    });

    it('keeps inboxes apart, also for equal ids', async () => {
      const { store } = subject();
      const a = uniqueName('inbox');
      const b = uniqueName('inbox');
      expect((await store.append(a, message('same'))).inserted).toBe(true);
      expect((await store.append(b, message('same', { body: 'b' }))).inserted).toBe(true);
      expect((await store.read(a, 0, 10)).map((e) => e.body)).toEqual([message('same').body]);
      expect((await store.read(b, 0, 10)).map((e) => e.body)).toEqual(['b']);
      expect(await store.prune(a, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toBe(1);
      expect(await store.read(b, 0, 10)).toHaveLength(1);
    });

    it('reads after a seq, at most limit entries, so paging sees every entry once', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const ids = Array.from({ length: 11 }, (_, i) => `m${i}`);
      for (const id of ids) await store.append(inbox, message(id));
      const seen: string[] = [];
      let after = 0;
      for (let page = 0; page < 10; page++) {
        const entries = await store.read(inbox, after, 4);
        if (entries.length === 0) break;
        expect(entries.length).toBeLessThanOrEqual(4);
        seen.push(...entries.map((e) => e.id));
        after = entries.at(-1)?.seq ?? after;
      }
      expect(seen).toEqual(ids);
      const all = await store.read(inbox, 0, 100);
      const third = all[2]?.seq ?? 0;
      expect((await store.read(inbox, third, 2)).map((e) => e.id)).toEqual(['m3', 'm4']);
      expect(await store.read(inbox, all.at(-1)?.seq ?? 0, 100)).toEqual([]);
      expect(await store.read(inbox, 0, 0)).toEqual([]);
    });

    it('gives concurrent appends distinct, increasing seqs in the order read', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(inbox, message(`c${i}`))));
      expect(results.every((r) => r.inserted)).toBe(true);
      const seqs = results.map((r) => r.seq);
      expect(new Set(seqs).size).toBe(20);
      const read = await store.read(inbox, 0, 100);
      expect(read.map((e) => e.seq)).toEqual([...seqs].sort((x, y) => x - y));
      for (const [i, r] of results.entries()) expect(read.find((e) => e.seq === r.seq)?.id).toBe(`c${i}`);
    });

    it('of concurrent appends of one id exactly one inserts, and all get its seq', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const results = await Promise.all(Array.from({ length: 5 }, () => store.append(inbox, message('same'))));
      expect(results.filter((r) => r.inserted)).toHaveLength(1);
      expect(new Set(results.map((r) => r.seq)).size).toBe(1);
      expect(await store.read(inbox, 0, 100)).toHaveLength(1);
    });

    it('keeps the body exactly as received and the headers as given', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const bodies = ['', '  padded \r\n\ttext  ', '{"a":1,  "b" : [ ] }', 'Zoë 🧾 日本語 e\u0301', 'nul\u0000inside', 'x'.repeat(100_000)];
      for (const [i, body] of bodies.entries()) {
        await store.append(inbox, message(`b${i}`, { body, headers: { 'webhook-id': `b${i}`, 'x-note': 'ünïcode ✓' } }));
      }
      const read = await store.read(inbox, 0, 100);
      expect(read.map((e) => e.body)).toEqual(bodies);
      expect(read[0]?.headers).toEqual({ 'webhook-id': 'b0', 'x-note': 'ünïcode ✓' });
    });

    it('keeps its own copy: mutating appended or read headers changes nothing stored', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const headers: Record<string, string> = { 'webhook-id': 'm1' };
      await store.append(inbox, message('m1', { headers }));
      headers['x-added'] = 'later';
      const [first] = await store.read(inbox, 0, 10);
      (first?.headers as Record<string, string>)['x-other'] = 'mutated';
      expect((await store.read(inbox, 0, 10))[0]?.headers).toEqual({ 'webhook-id': 'm1' });
    });

    it('prune deletes entries up to throughSeq received before receivedBefore, and counts them', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      const t = conformanceEpoch;
      const seqs: number[] = [];
      for (const [i, offset] of [0, 10, 20, 30].entries()) seqs.push((await store.append(inbox, message(`m${i}`, { receivedAt: t + offset }))).seq);
      // m3 is after throughSeq; m2 is not received before receivedBefore.
      expect(await store.prune(inbox, seqs[2] ?? 0, t + 20)).toBe(2);
      expect((await store.read(inbox, 0, 10)).map((e) => e.id)).toEqual(['m2', 'm3']);
      expect(await store.prune(inbox, seqs[2] ?? 0, t + 20)).toBe(0);
      expect(await store.prune(uniqueName('inbox'), 100, t + 100)).toBe(0);
    });

    it('never reuses a seq, also after pruning everything', async () => {
      const { store } = subject();
      const inbox = uniqueName('inbox');
      let last = 0;
      for (const id of ['m1', 'm2', 'm3']) last = (await store.append(inbox, message(id))).seq;
      expect(await store.prune(inbox, last, conformanceEpoch + 1)).toBe(3);
      const next = await store.append(inbox, message('m4'));
      expect(next.seq).toBeGreaterThan(last);
      expect((await store.read(inbox, last, 10)).map((e) => e.id)).toEqual(['m4']);
    });

    it('every method rejects with the reason of an already-aborted signal and changes nothing', async () => {
      const { store } = subject();
      const { signal, reason } = abortedSignal();
      const inbox = uniqueName('inbox');
      await expect(store.append(inbox, message('m1'), signal)).rejects.toBe(reason);
      expect(await store.read(inbox, 0, 10)).toEqual([]);
      const { seq } = await store.append(inbox, message('m1'));
      await expect(store.read(inbox, 0, 10, signal)).rejects.toBe(reason);
      await expect(store.prune(inbox, seq, conformanceEpoch + 1, signal)).rejects.toBe(reason);
      expect(await store.read(inbox, 0, 10)).toEqual([{ ...message('m1'), seq }]);
    });
  });
}
