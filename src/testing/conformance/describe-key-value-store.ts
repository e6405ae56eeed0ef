import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../internal/key-codec.js';
import type { JsonValue } from '../../model/json.js';
import type { KeyValueStore } from '../../stores/key-value-store.js';
import {
  abortedSignal,
  hostileJson,
  hostileString,
  propertyRuns,
  surrogateTwins,
  trickyJson,
  uniqueName,
  useSubject,
  type ConformanceFactory,
} from './harness.js';

/**
 * The conformance suite of {@link KeyValueStore}: versions, compare-and-set (also under concurrent
 * writers), TTL expiry by the clock, namespaces, exact JSON round-trips, ordered listing with
 * `prefix`/`after`/`limit`, arbitrary strings as namespaces and keys (NUL and lone surrogates included:
 * properties checked with fast-check), and aborted calls. Call it from a vitest test file; it registers
 * `describe`/`it` blocks, so it runs only inside vitest.
 *
 * @example
 * ```ts
 * import { MemoryKeyValueStore } from 'syncline';
 * import { describeKeyValueStore } from 'syncline/testing/conformance';
 *
 * describeKeyValueStore('memory', async ({ clock }) => ({ store: new MemoryKeyValueStore({ clock }) }));
 * ```
 * @see {@link ConformanceFactory} for what the factory receives and returns.
 */
export function describeKeyValueStore(name: string, factory: ConformanceFactory<KeyValueStore>): void {
  describe(`KeyValueStore conformance: ${name}`, () => {
    const subject = useSubject(factory);

    describe('versions and compare-and-set', () => {
      it('get of an absent key is undefined', async () => {
        const { store } = subject();
        expect(await store.get(uniqueName('ns'), 'missing')).toBeUndefined();
      });

      it('the first set makes version 1 without expiry; every set adds one', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        expect(await store.set(ns, 'k', { n: 1 })).toEqual({ ok: true, version: 1 });
        const first = await store.get(ns, 'k');
        expect(first).toEqual({ value: { n: 1 }, version: 1 });
        expect(first).not.toHaveProperty('expiresAt');
        expect(await store.set(ns, 'k', { n: 2 })).toEqual({ ok: true, version: 2 });
        expect(await store.set(ns, 'k', { n: 3 })).toEqual({ ok: true, version: 3 });
        expect(await store.get(ns, 'k')).toEqual({ value: { n: 3 }, version: 3 });
      });

      it('ifVersion writes only over that version, else resolves ok: false with the current version', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        await store.set(ns, 'k', 'v1');
        expect(await store.set(ns, 'k', 'v2', { ifVersion: 1 })).toEqual({ ok: true, version: 2 });
        expect(await store.set(ns, 'k', 'stale', { ifVersion: 1 })).toEqual({ ok: false, version: 2 });
        expect(await store.set(ns, 'k', 'future', { ifVersion: 3 })).toEqual({ ok: false, version: 2 });
        expect(await store.get(ns, 'k')).toEqual({ value: 'v2', version: 2 });
      });

      it('ifVersion 0 writes only when the key is absent', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        expect(await store.set(ns, 'k', 'first', { ifVersion: 0 })).toEqual({ ok: true, version: 1 });
        expect(await store.set(ns, 'k', 'second', { ifVersion: 0 })).toEqual({ ok: false, version: 1 });
        expect(await store.get(ns, 'k')).toEqual({ value: 'first', version: 1 });
      });

      it('ifVersion above 0 on an absent key resolves ok: false with version 0 and stores nothing', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        expect(await store.set(ns, 'k', 'v', { ifVersion: 1 })).toEqual({ ok: false, version: 0 });
        expect(await store.get(ns, 'k')).toBeUndefined();
      });

      it('of concurrent compare-and-sets on one version exactly one wins', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        await store.set(ns, 'k', 'base');
        const results = await Promise.all([
          store.set(ns, 'k', 'left', { ifVersion: 1 }),
          store.set(ns, 'k', 'right', { ifVersion: 1 }),
        ]);
        expect(results.filter((r) => r.ok)).toEqual([{ ok: true, version: 2 }]);
        expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, version: 2 }]);
        const winner = results[0]?.ok ? 'left' : 'right';
        expect(await store.get(ns, 'k')).toEqual({ value: winner, version: 2 });
      });

      it('of concurrent create-if-absent writes exactly one wins', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        const results = await Promise.all(['a', 'b', 'c', 'd'].map((value) => store.set(ns, 'k', value, { ifVersion: 0 })));
        expect(results.filter((r) => r.ok)).toEqual([{ ok: true, version: 1 }]);
        for (const r of results) expect(r.version).toBe(1);
      });

      it('delete tells whether the key existed; afterwards the key is absent and restarts at version 1', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        await store.set(ns, 'k', 'v');
        await store.set(ns, 'k', 'v');
        expect(await store.delete(ns, 'k')).toBe(true);
        expect(await store.delete(ns, 'k')).toBe(false);
        expect(await store.get(ns, 'k')).toBeUndefined();
        expect(await store.set(ns, 'k', 'again', { ifVersion: 2 })).toEqual({ ok: false, version: 0 });
        expect(await store.set(ns, 'k', 'again', { ifVersion: 0 })).toEqual({ ok: true, version: 1 });
      });

      it('keeps namespaces apart', async () => {
        const { store } = subject();
        const ns1 = uniqueName('ns');
        const ns2 = uniqueName('ns');
        await store.set(ns1, 'k', 'one');
        await store.set(ns1, 'k', 'one again');
        expect(await store.set(ns2, 'k', 'two', { ifVersion: 0 })).toEqual({ ok: true, version: 1 });
        expect(await store.get(ns1, 'k')).toEqual({ value: 'one again', version: 2 });
        expect(await store.delete(ns2, 'k')).toBe(true);
        expect(await store.get(ns1, 'k')).toEqual({ value: 'one again', version: 2 });
        expect(await store.list(ns2)).toEqual([]);
      });
    });

    describe('values', () => {
      it('round-trips JSON values exactly: nesting, unicode, NUL inside strings, null and falsy values', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        const values: JsonValue[] = [trickyJson, null, 0, false, '', 'a\u0000b', [], {}, [null, [trickyJson]], -12.75];
        for (const [i, value] of values.entries()) {
          await store.set(ns, `k${i}`, value);
          expect(await store.get(ns, `k${i}`)).toEqual({ value, version: 1 });
        }
      });

      it('keeps its own copy: mutating a set or returned value changes nothing stored', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        const value = { ids: ['a'], n: 1 };
        await store.set(ns, 'k', value);
        value.ids.push('b');
        value.n = 2;
        const got = await store.get(ns, 'k');
        (got?.value as { ids: string[] }).ids.push('c');
        const [listed] = await store.list(ns);
        (listed?.entry.value as { n: number }).n = 3;
        expect((await store.get(ns, 'k'))?.value).toEqual({ ids: ['a'], n: 1 });
      });
    });

    describe('expiry', () => {
      it('an entry with ttlMs carries expiresAt and is visible until just before it', async () => {
        const { store, clock } = subject();
        const ns = uniqueName('ns');
        await store.set(ns, 'k', 'v', { ttlMs: 1_000 });
        const expiresAt = clock.now() + 1_000;
        expect(await store.get(ns, 'k')).toEqual({ value: 'v', version: 1, expiresAt });
        await clock.advance(999);
        expect(await store.get(ns, 'k')).toEqual({ value: 'v', version: 1, expiresAt });
        expect(await store.list(ns)).toEqual([{ key: 'k', entry: { value: 'v', version: 1, expiresAt } }]);
      });

      it('from expiresAt on the entry is invisible to get, list and delete', async () => {
        const { store, clock } = subject();
        const ns = uniqueName('ns');
        await store.set(ns, 'gone', 'v', { ttlMs: 1_000 });
        await store.set(ns, 'kept', 'v');
        await clock.advance(1_000);
        expect(await store.get(ns, 'gone')).toBeUndefined();
        expect((await store.list(ns)).map((e) => e.key)).toEqual(['kept']);
        expect(await store.delete(ns, 'gone')).toBe(false);
      });

      it('an expired entry counts as absent for compare-and-set and restarts at version 1', async () => {
        const { store, clock } = subject();
        const ns = uniqueName('ns');
        await store.set(ns, 'a', 'v', { ttlMs: 500 });
        await store.set(ns, 'a', 'v', { ttlMs: 500 });
        await store.set(ns, 'b', 'v', { ttlMs: 500 });
        await clock.advance(500);
        expect(await store.set(ns, 'a', 'late', { ifVersion: 2 })).toEqual({ ok: false, version: 0 });
        expect(await store.set(ns, 'a', 'new', { ifVersion: 0 })).toEqual({ ok: true, version: 1 });
        expect(await store.set(ns, 'b', 'new')).toEqual({ ok: true, version: 1 });
        expect(await store.get(ns, 'a')).toEqual({ value: 'new', version: 1 });
      });

      it('each set decides its own expiry: a later set without ttlMs keeps the entry for good', async () => {
        const { store, clock } = subject();
        const ns = uniqueName('ns');
        await store.set(ns, 'k', 'v1', { ttlMs: 1_000 });
        await clock.advance(600);
        expect(await store.set(ns, 'k', 'v2', { ttlMs: 1_000 })).toEqual({ ok: true, version: 2 });
        await clock.advance(600);
        expect(await store.get(ns, 'k')).toEqual({ value: 'v2', version: 2, expiresAt: clock.now() + 400 });
        await store.set(ns, 'k', 'v3');
        await clock.advance(10_000_000);
        const entry = await store.get(ns, 'k');
        expect(entry).toEqual({ value: 'v3', version: 3 });
        expect(entry).not.toHaveProperty('expiresAt');
      });
    });

    describe('list', () => {
      it('lists keys in ascending order with their entries', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        for (const key of ['b', 'a:2', 'c', 'a:10', 'A', 'a']) await store.set(ns, key, key);
        await store.set(ns, 'c', 'c again');
        const listed = await store.list(ns);
        expect(listed.map((e) => e.key)).toEqual(['A', 'a', 'a:10', 'a:2', 'b', 'c']);
        expect(listed.at(-1)).toEqual({ key: 'c', entry: { value: 'c again', version: 2 } });
      });

      it('orders by Unicode code point (UTF-8 byte order), not by locale or UTF-16 unit', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        // UTF-16 units would put the emoji (a surrogate pair) before U+FFFD; a locale would put é near e.
        for (const key of ['x\u{1F600}', 'x\uFFFD', 'xé', 'xz', 'xZ', 'x']) await store.set(ns, key, key);
        expect((await store.list(ns)).map((e) => e.key)).toEqual(['x', 'xZ', 'xz', 'xé', 'x\uFFFD', 'x\u{1F600}']);
      });

      it('filters by prefix literally: % and _ are not wildcards', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        for (const key of ['order:1', 'order:2', 'orders', 'invoice:1', 'a_b', 'axb', 'a%c', 'abc', 'a\\d']) await store.set(ns, key, 1);
        expect((await store.list(ns, { prefix: 'order:' })).map((e) => e.key)).toEqual(['order:1', 'order:2']);
        expect((await store.list(ns, { prefix: 'a_' })).map((e) => e.key)).toEqual(['a_b']);
        expect((await store.list(ns, { prefix: 'a%' })).map((e) => e.key)).toEqual(['a%c']);
        expect((await store.list(ns, { prefix: 'a\\' })).map((e) => e.key)).toEqual(['a\\d']);
        expect(await store.list(ns, { prefix: 'zzz' })).toEqual([]);
      });

      it('pages with after and limit over every key exactly once', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        const keys = Array.from({ length: 23 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
        for (const key of [...keys].reverse()) await store.set(ns, key, key);
        await store.set(ns, 'other', 'x');
        const seen: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 10; page++) {
          const entries = await store.list(ns, after === undefined ? { prefix: 'key-', limit: 5 } : { prefix: 'key-', limit: 5, after });
          if (entries.length === 0) break;
          expect(entries.length).toBeLessThanOrEqual(5);
          seen.push(...entries.map((e) => e.key));
          after = entries.at(-1)?.key;
        }
        expect(seen).toEqual(keys);
        // `after` need not be a stored key.
        expect((await store.list(ns, { after: 'key-20x' })).map((e) => e.key)).toEqual(['key-21', 'key-22', 'other']);
      });
    });

    describe('arbitrary strings', () => {
      it('keeps keys differing only in a lone surrogate apart', async () => {
        const { store } = subject();
        const ns = uniqueName('ns');
        for (const [i, key] of surrogateTwins.entries()) await store.set(ns, key, i);
        for (const [i, key] of surrogateTwins.entries()) expect(await store.get(ns, key)).toEqual({ value: i, version: 1 });
        expect((await store.list(ns)).map((e) => e.key)).toEqual([...surrogateTwins].sort(compareKeys));
        expect(await store.delete(ns, 'order-\uD800')).toBe(true);
        expect(await store.get(ns, 'order-\uDBFF')).toEqual({ value: 1, version: 1 });
        expect(await store.get(ns, 'order-\uFFFD')).toEqual({ value: 4, version: 1 });
      });

      it('gives back exactly the key and value set under any namespace and key, never another one', async () => {
        const { store } = subject();
        await fc.assert(
          fc.asyncProperty(hostileString(), fc.uniqueArray(fc.tuple(hostileString(), hostileJson), { minLength: 1, maxLength: 6, selector: ([k]) => k }), async (suffix, entries) => {
            const ns = uniqueName('ns') + suffix;
            for (const [key, value] of entries) expect(await store.set(ns, key, value)).toEqual({ ok: true, version: 1 });
            for (const [key, value] of entries) expect(await store.get(ns, key)).toEqual({ value, version: 1 });
            const sorted = [...entries].sort(([a], [b]) => compareKeys(a, b));
            expect(await store.list(ns)).toEqual(sorted.map(([key, value]) => ({ key, entry: { value, version: 1 } })));
            const [first] = entries;
            if (first === undefined) return;
            expect(await store.delete(ns, first[0])).toBe(true);
            for (const [key, value] of entries.slice(1)) expect(await store.get(ns, key)).toEqual({ value, version: 1 });
          }),
          { numRuns: propertyRuns },
        );
      });

      it('lists by any prefix and after exactly as startsWith and code point order say', async () => {
        const { store } = subject();
        // A prefix cut from a key at any UTF-16 index (a pair split in two included), or any string.
        const keysAndBounds = fc.uniqueArray(hostileString(), { minLength: 1, maxLength: 8 }).chain((keys) =>
          fc.tuple(
            fc.constant(keys),
            fc.oneof(
              fc.tuple(fc.constantFrom(...keys), fc.nat()).map(([key, cut]) => key.slice(0, cut % (key.length + 1))),
              hostileString(3),
            ),
            fc.option(fc.oneof(fc.constantFrom(...keys), hostileString(4)), { nil: undefined }),
          ),
        );
        await fc.assert(
          fc.asyncProperty(keysAndBounds, async ([keys, prefix, after]) => {
            const ns = uniqueName('ns');
            for (const key of keys) await store.set(ns, key, key);
            const expected = keys
              .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
              .sort(compareKeys);
            const listed = await store.list(ns, after === undefined ? { prefix } : { prefix, after });
            expect(listed.map((e) => e.key)).toEqual(expected);
            expect(listed.map((e) => e.entry.value)).toEqual(expected);
            const limited = await store.list(ns, after === undefined ? { prefix, limit: 2 } : { prefix, after, limit: 2 });
            expect(limited.map((e) => e.key)).toEqual(expected.slice(0, 2));
          }),
          { numRuns: propertyRuns },
        );
      });
    });

    it('every method rejects with the reason of an already-aborted signal and changes nothing', async () => {
      const { store } = subject();
      const { signal, reason } = abortedSignal();
      const ns = uniqueName('ns');
      await expect(store.set(ns, 'k', 'v', {}, signal)).rejects.toBe(reason);
      expect(await store.get(ns, 'k')).toBeUndefined();
      await store.set(ns, 'k', 'v');
      await expect(store.set(ns, 'k', 'changed', {}, signal)).rejects.toBe(reason);
      await expect(store.get(ns, 'k', signal)).rejects.toBe(reason);
      await expect(store.list(ns, {}, signal)).rejects.toBe(reason);
      await expect(store.delete(ns, 'k', signal)).rejects.toBe(reason);
      expect(await store.get(ns, 'k')).toEqual({ value: 'v', version: 1 });
    });
  });
}
