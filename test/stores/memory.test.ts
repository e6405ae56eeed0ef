import { describe, expect, it } from 'vitest';
import { FatalError } from '../../src/errors/fatal-error.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import type { DeadLetter } from '../../src/stores/dead-letter-store.js';
import {
  memoryStores,
  MemoryAuditStore,
  MemoryCheckpointStore,
  MemoryDeadLetterStore,
  MemoryInboxStore,
  MemoryKeyValueStore,
} from '../../src/stores/memory/index.js';
import {
  describeAuditStore,
  describeCheckpointStore,
  describeDeadLetterStore,
  describeInboxStore,
  describeKeyValueStore,
} from '../../src/testing/conformance/index.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { systemClock, type Clock } from '../../src/time/clock.js';

describeCheckpointStore('memory', async ({ clock }) => ({ store: new MemoryCheckpointStore({ clock }) }));
describeDeadLetterStore('memory', async () => ({ store: new MemoryDeadLetterStore() }));
describeAuditStore('memory', async () => ({ store: new MemoryAuditStore() }));
describeKeyValueStore('memory', async ({ clock }) => ({ store: new MemoryKeyValueStore({ clock }) }));
describeInboxStore('memory', async () => ({ store: new MemoryInboxStore() }));

describe('memory stores', () => {
  it('memoryStores() bundles every store over the one clock it is given', async () => {
    const clock = new FakeClock({ now: Date.UTC(2026, 0, 1) });
    const stores = memoryStores({ clock });
    expect(Object.keys(stores).sort()).toEqual(['audit', 'checkpoints', 'deadLetters', 'inbox', 'kv']);
    const lease = await stores.checkpoints.acquireLease('p', 'worker-1', 1_000);
    expect(lease.expiresAt).toBe(clock.now() + 1_000);
    await stores.kv.set('ns', 'k', 1, { ttlMs: 1_000 });
    await clock.advance(1_000);
    expect(await stores.kv.get('ns', 'k')).toBeUndefined();
    await stores.checkpoints.acquireLease('p', 'worker-2', 1_000);
  });

  it('rejects a clock option that is not a Clock, naming the option', () => {
    const error = (() => {
      try {
        memoryStores({ clock: { now: () => 0 } as unknown as Clock });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).message).toContain('`options.clock`');
    expect(() => new MemoryKeyValueStore({ clok: systemClock } as unknown as { clock: Clock })).toThrow(InvalidOptionsError);
  });

  it('refuses a cursor that is not JSON with FatalError and stores nothing', async () => {
    const store = new MemoryCheckpointStore();
    const lease = await store.acquireLease('p', 'worker-1', 60_000);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const cursor of [undefined, 10n, cyclic, () => 1]) {
      const attempt = store.commit(lease, { cursor, expectedVersion: 0, runId: 'run-1' });
      await expect(attempt).rejects.toBeInstanceOf(FatalError);
      await expect(attempt).rejects.toThrow(/cursor of `checkpoints.commit` for pipeline `p`/);
    }
    expect(await store.load('p')).toBeUndefined();
  });

  it('refuses a dead-letter batch with a non-JSON entry as a whole', async () => {
    const store = new MemoryDeadLetterStore();
    const entry = (id: string, data: unknown): DeadLetter => ({
      id,
      pipelineId: 'p',
      runId: 'r',
      key: id,
      stage: 'sink',
      data,
      error: { name: 'PermanentError', message: 'no', errorClass: 'permanent' },
      attempts: [],
      position: { cursor: null, index: 0 },
      createdAt: 0,
    });
    await expect(store.put([entry('ok', { a: 1 }), entry('bad', { n: 1n })])).rejects.toBeInstanceOf(FatalError);
    expect(await store.count('p')).toBe(0);
  });

  it('rejects a ttlMs or limit that would silently misbehave with InvalidOptionsError', async () => {
    const checkpoints = new MemoryCheckpointStore();
    const kv = new MemoryKeyValueStore();
    for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(checkpoints.acquireLease('p', 'w', ttlMs)).rejects.toThrow(/`ttlMs` of `checkpoints.acquireLease`/);
      await expect(kv.set('ns', 'k', 1, { ttlMs })).rejects.toBeInstanceOf(InvalidOptionsError);
    }
    await expect(kv.list('ns', { limit: -1 })).rejects.toThrow(/`limit` of `kv.list`/);
    await expect(new MemoryAuditStore().query({ limit: 1.5 })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(new MemoryDeadLetterStore().list('p', { limit: Number.NaN })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(new MemoryInboxStore().read('i', 0, -5)).rejects.toBeInstanceOf(InvalidOptionsError);
  });
});
