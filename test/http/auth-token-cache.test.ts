import { describe, expect, it } from 'vitest';
import { TokenCache, type CachedToken } from '../../src/http/auth/token-cache.js';
import { FakeClock } from '../../src/testing/index.js';

/** A renewal the test settles by hand, with the signal it was given. */
function manualRenewal() {
  const calls: { signal: AbortSignal; resolve: (token: CachedToken) => void; reject: (error: unknown) => void }[] = [];
  const renew = (signal: AbortSignal) =>
    new Promise<CachedToken>((resolve, reject) => {
      calls.push({ signal, resolve, reject });
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { renew, calls };
}

describe('TokenCache', () => {
  it('shares one renewal between concurrent callers and caches the token until skew before expiry', async () => {
    const clock = new FakeClock({ now: 0 });
    const { renew, calls } = manualRenewal();
    const cache = new TokenCache(renew, clock, 10_000);
    const waiting = Promise.all(Array.from({ length: 20 }, () => cache.get()));
    expect(calls).toHaveLength(1);
    calls[0]!.resolve({ value: 't1', obtainedAt: 0, expiresAt: 60_000 });
    expect(await waiting).toEqual(Array(20).fill('t1'));
    await clock.advance(49_999);
    expect(await cache.get()).toBe('t1');
    await clock.advance(1);
    const renewed = cache.get();
    expect(calls).toHaveLength(2);
    calls[1]!.resolve({ value: 't2', obtainedAt: 50_000, expiresAt: 110_000 });
    expect(await renewed).toBe('t2');
  });

  it('a failed renewal rejects every waiter, and the next call starts a new one', async () => {
    const { renew, calls } = manualRenewal();
    const cache = new TokenCache(renew, new FakeClock(), 0);
    const a = cache.get();
    const b = cache.get();
    calls[0]!.reject(new Error('token endpoint down'));
    await expect(a).rejects.toThrow('token endpoint down');
    await expect(b).rejects.toThrow('token endpoint down');
    const c = cache.get();
    expect(calls).toHaveLength(2);
    calls[1]!.resolve({ value: 't', obtainedAt: 0, expiresAt: undefined });
    expect(await c).toBe('t');
  });

  it('the renewal is aborted only when every caller waiting on it has given up', async () => {
    const { renew, calls } = manualRenewal();
    const cache = new TokenCache(renew, new FakeClock(), 0);
    const first = new AbortController();
    const second = new AbortController();
    const a = cache.get(first.signal);
    const b = cache.get(second.signal);
    first.abort(new Error('first gave up'));
    await expect(a).rejects.toThrow('first gave up');
    expect(calls[0]!.signal.aborted).toBe(false);
    second.abort(new Error('second gave up'));
    await expect(b).rejects.toThrow('second gave up');
    expect(calls[0]!.signal.aborted).toBe(true);
  });

  it('invalidate renews only if the rejected token is still the current one', async () => {
    const { renew, calls } = manualRenewal();
    const cache = new TokenCache(renew, new FakeClock(), 0);
    const first = cache.get();
    calls[0]!.resolve({ value: 'old', obtainedAt: 0, expiresAt: undefined });
    await first;
    const renewal = cache.invalidate('old');
    expect(calls).toHaveLength(2);
    calls[1]!.resolve({ value: 'new', obtainedAt: 0, expiresAt: undefined });
    await renewal;
    // A late 401 for a request sent with the old token: already renewed, nothing to do.
    await cache.invalidate('old');
    expect(calls).toHaveLength(2);
    expect(await cache.get()).toBe('new');
  });
});
