// The fault server itself, driven by the real HTTP client: each fault it injects reaches the client as
// the failure it imitates, and is classified, retried (or not) and counted the way syncline promises.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, parseRetryAfter, rateLimiter, retryPolicy, RetryExhaustedError, type RateLimiter, type RetryInfo } from '../../src/index.js';
import { httpClient, HttpError, HttpNetworkError, HttpTimeoutError, InvalidResponseError, oauth2ClientCredentials } from '../../src/http/index.js';
import { FakeClock } from '../../src/testing/index.js';
import { faultServer, type Fault, type FaultServer, type FaultServerOptions } from '../../src/testing/fault-server.js';
import { maxRequestsInWindow } from '../../src/testing/request-window.js';
import { formatRetryAfter, RETRY_AFTER_FORMS, type RetryAfterForm } from '../../src/testing/retry-after-value.js';

const servers: FaultServer[] = [];
const limiters: RateLimiter[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(limiters.splice(0).map((limiter) => limiter.stop()));
});

async function serve(options: Partial<FaultServerOptions> = {}): Promise<FaultServer> {
  const server = await faultServer({ handler: () => Response.json({ ok: true }), ...options });
  servers.push(server);
  return server;
}

/** Retries at once: these tests count attempts, not time. */
const quick = (attempts: number) => retryPolicy({ attempts, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 });

/** A store that keeps the first body per idempotency key and counts every delivery. */
function idempotentStore() {
  const first = new Map<string, unknown>();
  const deliveries = new Map<string, number>();
  const handler = async (request: Request): Promise<Response> => {
    const key = request.headers.get('idempotency-key') ?? '';
    deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
    if (!first.has(key)) first.set(key, await request.json());
    return Response.json({ stored: key }, { status: 201 });
  };
  return { first, deliveries, handler };
}

describe('429 with each Retry-After form', () => {
  // Fake time everywhere the client reads it: the dates the server writes and the client parses line up
  // to the millisecond, so each form's wait is exact.
  const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);
  const expected: Record<RetryAfterForm, { retryAfterMs: number | undefined; pausedMs: number }> = {
    seconds: { retryAfterMs: 2000, pausedMs: 2000 },
    'imf-fixdate': { retryAfterMs: 2000, pausedMs: 2000 },
    rfc850: { retryAfterMs: 2000, pausedMs: 2000 },
    asctime: { retryAfterMs: 2000, pausedMs: 2000 },
    zero: { retryAfterMs: 0, pausedMs: 0 },
    negative: { retryAfterMs: undefined, pausedMs: 0 },
    garbage: { retryAfterMs: undefined, pausedMs: 0 },
    huge: { retryAfterMs: 5000, pausedMs: 5000 }, // capped by maxRetryAfterMs
    none: { retryAfterMs: undefined, pausedMs: 0 },
  };

  it.each(RETRY_AFTER_FORMS.map((form) => [form]))('%s: the client waits what the header means and pauses the limiter for it', async (form) => {
    const clock = new FakeClock({ now: T0 });
    const server = await serve({ script: [{ kind: 'rate-limit', retryAfter: form, seconds: 2 }], clock });
    const limiter = rateLimiter({ name: `retry-after-${form}`, clock });
    limiters.push(limiter);
    const retries: RetryInfo[] = [];
    const client = httpClient({
      baseUrl: server.url,
      clock,
      rateLimit: limiter,
      retry: retryPolicy({ attempts: 2, baseDelayMs: 100, maxDelayMs: 100, maxRetryAfterMs: 5000, clock, random: () => 0.5 }),
      onRetry: (info) => void retries.push(info),
    });

    const response = await drive(client.request({ path: '/things' }), clock);

    expect(response.data).toEqual({ ok: true });
    expect(server.log.map((r) => [r.fault, r.status])).toEqual([
      ['rate-limit', 429],
      [undefined, 200],
    ]);
    expect(server.log[0]?.retryAfter).toBe(formatRetryAfter(form, 2, T0));
    expect(retries).toHaveLength(1);
    expect(retries[0]?.retryAfterMs).toBe(expected[form].retryAfterMs);
    // Without a usable Retry-After the policy backs off: full jitter of 100 ms at random 0.5.
    expect(retries[0]?.delayMs).toBe(expected[form].retryAfterMs ?? 50);
    expect(Math.max(0, limiter.pausedUntil() - T0)).toBe(expected[form].pausedMs);
  });

  it('writes every form so that parseRetryAfter reads it back (or rejects the invalid ones)', () => {
    const now = Date.UTC(2026, 5, 30, 23, 59, 58, 400); // a fraction of a second, the last day of a month
    const read = Object.fromEntries(RETRY_AFTER_FORMS.map((form) => [form, parseRetryAfter(formatRetryAfter(form, 3, now), now)]));
    expect(read).toEqual({
      seconds: 3000,
      'imf-fixdate': 3600, // the next whole second + 3 s
      rfc850: 3600,
      asctime: 3600,
      zero: 0,
      negative: undefined,
      garbage: undefined,
      huge: 999_999_999_000,
      none: undefined,
    });
    expect(formatRetryAfter('asctime', 0, Date.UTC(1994, 10, 6, 8, 49, 37))).toBe('Sun Nov  6 08:49:37 1994');
    expect(formatRetryAfter('rfc850', 0, Date.UTC(1994, 10, 6, 8, 49, 37))).toBe('Sunday, 06-Nov-94 08:49:37 GMT');
  });
});

describe('server errors, resets, truncated bodies and HTML', () => {
  it('a burst of 500, 502, 503 and 504 is retried until it passes, one server attempt per policy attempt', async () => {
    const burst: Fault[] = [500, 502, 503, 504].map((status) => ({ kind: 'server-error', status }) as Fault);
    const server = await serve({ script: burst });
    const response = await httpClient({ baseUrl: server.url, retry: quick(5) }).request({ method: 'POST', path: '/x', json: {}, idempotencyKey: 'k1' });
    expect(response.status).toBe(200);
    expect(server.log.map((r) => r.status)).toEqual([500, 502, 503, 504, 200]);
    expect(server.log.every((r) => r.idempotencyKey === 'k1')).toBe(true);
  });

  it('a burst longer than the policy ends in RetryExhaustedError after exactly `attempts` requests', async () => {
    const server = await serve({ script: Array.from({ length: 10 }, () => ({ kind: 'server-error', status: 503 }) as const) });
    const error = await httpClient({ baseUrl: server.url, retry: quick(4) })
      .request({ path: '/x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect((error as RetryExhaustedError).cause).toBeInstanceOf(HttpError);
    expect(server.log).toHaveLength(4);
  });

  it('a reset before the handler is a retryable network error; the write happens once', async () => {
    const store = idempotentStore();
    const server = await serve({ handler: store.handler, script: [{ kind: 'reset' }] });
    const errors: Error[] = [];
    await httpClient({ baseUrl: server.url, retry: quick(3), onRetry: (info) => void errors.push(info.error) }).request({
      method: 'POST',
      path: '/x',
      json: { n: 1 },
      idempotencyKey: 'k1',
    });
    expect(errors[0]).toBeInstanceOf(HttpNetworkError);
    expect(server.log.map((r) => [r.fault, r.handled])).toEqual([
      ['reset', false],
      [undefined, true],
    ]);
    expect(store.deliveries.get('k1')).toBe(1);
  });

  it('a reset or a truncated body after the handler ran: the client retries, the key deduplicates the second delivery', async () => {
    for (const fault of [{ kind: 'reset', afterHandler: true }, { kind: 'truncated' }] as const) {
      const store = idempotentStore();
      const server = await serve({ handler: store.handler, script: [fault] });
      const errors: Error[] = [];
      const response = await httpClient({ baseUrl: server.url, retry: quick(3), onRetry: (info) => void errors.push(info.error) }).request({
        method: 'POST',
        path: '/x',
        json: { n: 1 },
        idempotencyKey: 'k1',
      });
      expect(response.data).toEqual({ stored: 'k1' });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(HttpNetworkError);
      expect(server.log.map((r) => [r.fault, r.handled])).toEqual([
        [fault.kind, true],
        [undefined, true],
      ]);
      expect(store.deliveries.get('k1')).toBe(2); // delivered twice…
      expect(store.first.size).toBe(1); // …one effect
    }
  });

  it('an HTML page with 200 is a bad answer: retried, and when it persists the request fails with the body excerpt', async () => {
    const server = await serve({ script: [{ kind: 'html' }, { kind: 'html' }] });
    const error = await httpClient({ baseUrl: server.url, retry: quick(2) })
      .request({ path: '/x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    const cause = (error as RetryExhaustedError).cause as InvalidResponseError;
    expect(cause).toBeInstanceOf(InvalidResponseError);
    expect(cause.message).toContain('right back');
    expect(server.log.map((r) => [r.fault, r.status])).toEqual([
      ['html', 200],
      ['html', 200],
    ]);
  });
});

describe('hangs', () => {
  it('a hang past the client timeout is a retryable timeout; the hung exchange ends when the client gives up', async () => {
    const server = await serve({ script: [{ kind: 'hang' }], maxHangMs: 60_000 });
    const errors: Error[] = [];
    const response = await httpClient({ baseUrl: server.url, timeoutMs: 100, retry: quick(2), onRetry: (info) => void errors.push(info.error) }).request({
      path: '/x',
    });
    expect(response.status).toBe(200);
    expect(errors[0]).toBeInstanceOf(HttpTimeoutError);
    const hung = server.log[0]!;
    expect(hung.fault).toBe('hang');
    expect(hung.status).toBeUndefined();
    await until(() => hung.endedAt !== undefined);
    expect(hung.endedAt! - hung.at).toBeLessThan(5_000);
  });

  it('the server cuts a hang after maxHangMs when the client never gives up', async () => {
    const server = await serve({ script: [{ kind: 'hang' }], maxHangMs: 150 });
    const started = Date.now();
    const error = await fetch(`${server.url}/x`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError); // fetch failed: the socket was closed
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(server.log[0]?.fault).toBe('hang');
  });

  it('close() ends hung connections at once', async () => {
    const server = await faultServer({ handler: () => Response.json({}), script: [{ kind: 'hang', afterHandler: true }], maxHangMs: 60_000 });
    const pending = fetch(`${server.url}/x`).catch((e: unknown) => e);
    await until(() => server.log.length === 1 && server.log[0]!.handled);
    const started = Date.now();
    await server.close();
    expect(await pending).toBeInstanceOf(TypeError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('expired tokens', () => {
  it('a bearer token in the expired set gets 401; the OAuth2 provider renews once and the request is replayed', async () => {
    let issued = 0;
    const server = await serve({
      handler: async (request) => {
        if (new URL(request.url).pathname === '/oauth/token') return Response.json({ access_token: `token-${++issued}`, token_type: 'Bearer', expires_in: 3600 });
        return Response.json({ ok: true });
      },
      logHeaders: ['x-trace'],
    });
    const client = httpClient({
      baseUrl: server.url,
      retry: quick(1),
      auth: oauth2ClientCredentials({ tokenUrl: `${server.url}/oauth/token`, clientId: 'c', clientSecret: 's', retry: quick(1) }),
    });
    await client.request({ path: '/a' });
    server.expireToken('token-1');
    const response = await client.request({ path: '/b', headers: { 'x-trace': 'b' } });

    expect(response.data).toEqual({ ok: true });
    expect(server.log.map((r) => `${r.method} ${r.path} ${r.fault ?? r.status}`)).toEqual([
      'POST /oauth/token 200',
      'GET /a 200',
      'GET /b expired-token',
      'POST /oauth/token 200',
      'GET /b 200',
    ]);
    expect(server.log[2]?.headers).toEqual({ 'x-trace': 'b' }); // only the headers asked for: never the token
    expect(server.faultCounts()['expired-token']).toBe(1);
  });
});

describe('seeded faults', () => {
  const rates = { 'rate-limit': 0.1, 'server-error': 0.1, html: 0.1 } as const;

  async function faultsOf(server: FaultServer, requests: number): Promise<(string | undefined)[]> {
    for (let i = 0; i < requests; i++) await fetch(`${server.url}/r/${i}`).then((r) => r.arrayBuffer());
    return server.log.map((r) => (r.fault === 'server-error' ? `${r.status}` : r.fault));
  }

  it('the same seed gives the same faults by arrival number; a burst repeats its status', async () => {
    const a = await faultsOf(await serve({ seeded: { seed: 7, rates, maxBurst: 3 } }), 300);
    const b = await faultsOf(await serve({ seeded: { seed: 7, rates, maxBurst: 3 } }), 300);
    const c = await faultsOf(await serve({ seeded: { seed: 8, rates, maxBurst: 3 } }), 300);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const injected = a.filter((f) => f !== undefined).length;
    // 30 % drawn, server errors lengthened by bursts of 1–3: between 30 % and 50 % of requests.
    expect(injected).toBeGreaterThan(0.2 * 300);
    expect(injected).toBeLessThan(0.6 * 300);
    expect(a.some((f, i) => f !== undefined && /^5/.test(f) && a[i + 1] === f)).toBe(true);
  });

  it('`when` limits the faults to the requests it picks', async () => {
    const server = await serve({ seeded: { seed: 1, rates: { 'server-error': 1 }, when: (r) => r.path.startsWith('/r/1') } });
    await faultsOf(server, 30);
    const faulted = server.log.filter((r) => r.fault !== undefined).map((r) => r.path);
    expect(faulted.length).toBeGreaterThan(0);
    expect(faulted.every((path) => path.startsWith('/r/1'))).toBe(true);
  });

  it('rejects rates that add up to more than 1, naming the option', async () => {
    const error = await faultServer({ handler: () => new Response(), seeded: { seed: 1, rates: { reset: 0.6, hang: 0.6 } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toContain('faultServer.seeded.rates');
  });

  it('a script function that returns something that is not a fault gets a 500 that says so', async () => {
    const server = await serve({ script: () => ({ kind: 'meteor' }) as unknown as Fault });
    const response = await fetch(`${server.url}/x`);
    expect(response.status).toBe(500);
    expect(server.log[0]?.error).toMatch(/expected a Fault/);
  });
});

describe('maxRequestsInWindow', () => {
  it('finds the densest sliding window, half-open', () => {
    const at = (...times: number[]) => times.map((t) => ({ at: t }));
    expect(maxRequestsInWindow([], 1000)).toEqual({ count: 0, from: Number.NaN, windowMs: 1000 });
    // Fixed 1 s buckets would see 2 and 2; the sliding window finds the 4 around the boundary.
    expect(maxRequestsInWindow(at(0, 900, 950, 1010, 1050, 2500), 1000)).toEqual({ count: 4, from: 900, windowMs: 1000 });
    // Exactly windowMs apart: the later one starts the next window.
    expect(maxRequestsInWindow(at(0, 500, 1000, 1500), 1000).count).toBe(2);
    expect(maxRequestsInWindow(at(1500, 0, 1000, 500), 1000).count).toBe(2); // any order
    expect(() => maxRequestsInWindow(at(0), 0)).toThrow(/windowMs/);
  });
});

/** Moves the fake clock whenever the request waits on it, until the request settles (bounded). */
async function drive<T>(promise: Promise<T>, clock: FakeClock): Promise<T> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; step < 500 && !settled; step++) {
    if (!(await clock.advanceToNext())) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return promise;
}

/** Waits (really, briefly) until `condition` holds; bounded to about 2 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
