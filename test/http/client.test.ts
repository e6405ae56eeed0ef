import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  FatalError,
  InvalidOptionsError,
  RetryExhaustedError,
  rateLimiter,
  retryPolicy,
  type RateLimiter,
  type RateLimitPause,
  type RetryPolicy,
} from '../../src/index.js';
import {
  apiKeyAuth,
  httpClient,
  HttpError,
  HttpNetworkError,
  HttpTimeoutError,
  InvalidResponseError,
  ResponseTooLargeError,
  type AuthProvider,
  type HttpClientOptions,
} from '../../src/http/index.js';
import { FakeClock } from '../../src/testing/index.js';
import { json, startServer, text, type LocalHandler, type LocalServer } from './local-server.js';

const servers: LocalServer[] = [];
const limiters: RateLimiter[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(limiters.splice(0).map((limiter) => limiter.stop()));
});

async function serve(handler: LocalHandler): Promise<LocalServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

/** Retries without waiting: attempts are what the tests count, not time. */
const noWait = (attempts: number): RetryPolicy => retryPolicy({ attempts, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 });

function client(server: LocalServer, options: Partial<HttpClientOptions> = {}) {
  return httpClient({ baseUrl: server.url, retry: noWait(1), ...options });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error: unknown) => error as Error,
  );
}

/** A limiter that counts permits taken. */
function counting(limiter: RateLimiter): RateLimiter & { readonly permits: () => number } {
  let permits = 0;
  limiters.push(limiter);
  return {
    name: limiter.name,
    schedule: (fn, options) => {
      permits++;
      return limiter.schedule(fn, options);
    },
    pause: (ms, reason) => limiter.pause(ms, reason),
    pausedUntil: () => limiter.pausedUntil(),
    onPause: (listener) => limiter.onPause(listener),
    stop: () => limiter.stop(),
    permits: () => permits,
  };
}

/** Moves a FakeClock whenever the work waits on it, letting real I/O run in between (bounded). */
async function drive<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let settled = false;
  work.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let step = 0; step < 2000 && !settled; step++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (!settled) await clock.advanceToNext();
  }
  return work;
}

describe('httpClient: requests and responses', () => {
  it('appends the path to the base path, sends query, headers and JSON, and parses the response through the schema', async () => {
    const server = await serve((req, res) => json(res, 201, { id: 7, echo: JSON.parse(req.body) as unknown }));
    const api = httpClient({ baseUrl: `${server.url}/api/v2/?tenant=acme`, headers: { 'X-Tenant': 'acme' }, userAgent: 'orders-sync/1.0' });
    const response = await api.request(
      { method: 'POST', path: '/orders', query: { dryRun: true, skip: undefined }, json: { total: 12.5 }, headers: { 'X-Request': 'r1' } },
      z.object({ id: z.number(), echo: z.object({ total: z.number() }) }),
    );
    expect(response.status).toBe(201);
    expect(response.data).toEqual({ id: 7, echo: { total: 12.5 } });
    const seen = server.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/api/v2/orders?tenant=acme&dryRun=true');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['accept']).toBe('application/json');
    expect(seen.headers['user-agent']).toBe('orders-sync/1.0');
    expect(seen.headers['x-tenant']).toBe('acme');
    expect(seen.headers['x-request']).toBe('r1');
  });

  it('sends a write’s idempotency key in the configured header', async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    await client(server).request({ method: 'PUT', path: '/invoices/1', json: {}, idempotencyKey: 'orders:1042@3' });
    await client(server, { idempotencyHeader: 'X-Idempotency-Key' }).request({ method: 'POST', path: '/invoices', json: {}, idempotencyKey: 'orders:7' });
    expect(server.seen[0]!.headers['idempotency-key']).toBe('orders:1042@3');
    expect(server.seen[1]!.headers['x-idempotency-key']).toBe('orders:7');
  });

  it('resolves an empty 2xx body (204) with undefined data', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const response = await client(server).request({ method: 'DELETE', path: '/orders/1' });
    expect(response).toMatchObject({ status: 204, data: undefined });
  });
});

describe('httpClient: one retry layer', () => {
  it('retries a 503 exactly as many times as the policy allows, counted by the server', async () => {
    const server = await serve((_req, res) => json(res, 503, { error: 'maintenance' }));
    const error = await failure(client(server, { retry: noWait(4) }).request({ path: '/orders', operation: 'orders.list' }));
    expect(server.seen).toHaveLength(4);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect((error as RetryExhaustedError).attempts).toBe(4);
    expect((error as RetryExhaustedError).operation).toBe('orders.list');
    const cause = error.cause as HttpError;
    expect(cause).toBeInstanceOf(HttpError);
    expect(cause).toMatchObject({ status: 503, errorClass: 'retryable', method: 'GET', operation: 'orders.list' });
    expect(cause.message).toContain(`GET ${server.url}/orders (orders.list) answered HTTP 503`);
    expect(cause.message).toContain('Response body: «{"error":"maintenance"}»');
  });

  it('rides out 500, 502, a connection reset and 504, then returns the answer; each attempt takes one rate-limit permit', async () => {
    const script: ((res: ServerResponse) => void)[] = [
      (res) => json(res, 500, {}),
      (res) => json(res, 502, {}),
      (res) => res.socket?.resetAndDestroy(),
      (res) => json(res, 504, {}),
      (res) => json(res, 200, { ok: true }),
    ];
    const server = await serve((_req, res) => script[server.seen.length - 1]!(res));
    const limiter = counting(rateLimiter({ name: 'shop' }));
    const response = await client(server, { retry: noWait(5), rateLimit: limiter }).request({ path: '/orders' });
    expect(response.data).toEqual({ ok: true });
    expect(server.seen).toHaveLength(5);
    expect(limiter.permits()).toBe(5);
  });

  const table: [status: number, errorClass: 'retryable' | 'permanent' | 'fatal'][] = [
    [400, 'permanent'],
    [404, 'permanent'],
    [409, 'permanent'],
    [422, 'permanent'],
    [501, 'permanent'],
    [505, 'permanent'],
    [408, 'retryable'],
    [425, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
    [599, 'retryable'],
    [401, 'fatal'],
    [403, 'fatal'],
  ];
  it.each(table)('HTTP %i is %s', async (status, errorClass) => {
    const server = await serve((_req, res) => json(res, status, { error: 'x' }));
    const error = await failure(client(server, { retry: noWait(2) }).request({ method: 'POST', path: '/invoices', json: { n: 1 } }));
    const httpError = (errorClass === 'retryable' ? error.cause : error) as HttpError;
    expect(httpError).toBeInstanceOf(HttpError);
    expect(httpError).toMatchObject({ status, errorClass, code: 'HTTP', method: 'POST' });
    // Retryable statuses use both attempts; the others fail on the first.
    expect(server.seen).toHaveLength(errorClass === 'retryable' ? 2 : 1);
    if (errorClass === 'retryable') expect(error).toBeInstanceOf(RetryExhaustedError);
  });

  it('explains a 403 as missing scopes or permissions', async () => {
    const server = await serve((_req, res) => json(res, 403, { error: 'forbidden' }));
    const error = await failure(client(server).request({ path: '/invoices' }));
    expect(error.message).toMatch(/scope/);
    expect(error.message).toMatch(/permission/);
  });

  it('treats a 403 whose rate-limit budget is spent as rate limiting (retryable), not as a permission failure', async () => {
    const server = await serve((_req, res) => json(res, 403, {}, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' }));
    const error = await failure(client(server, { retry: noWait(2) }).request({ path: '/repos' }));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.cause).toMatchObject({ status: 403, errorClass: 'retryable', retryAfterMs: 1000 });
    expect(server.seen).toHaveLength(2);
  });
});

describe('httpClient: redirects', () => {
  it('does not follow a 3xx on a POST: it fails (fatal) and the target never sees the body', async () => {
    const server = await serve((req, res) => (req.url === '/orders' ? text(res, 307, '', { location: '/v2/orders' }) : json(res, 200, {})));
    const error = await failure(client(server).request({ method: 'POST', path: '/orders', json: { total: 1 } }));
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 307, errorClass: 'fatal' });
    expect(error.message).toContain(`${server.url}/v2/orders`);
    expect(error.message).toMatch(/never follow a redirect/);
    expect(server.seen.map((r) => r.url)).toEqual(['/orders']);
  });

  it('follows a GET redirect on the same origin, with credentials applied again, one permit per hop', async () => {
    const server = await serve((req, res) =>
      req.url?.startsWith('/old') ? text(res, 301, '', { location: '/new/orders' }) : json(res, 200, { via: req.url }),
    );
    const limiter = counting(rateLimiter({ name: 'redirects' }));
    const api = client(server, { auth: apiKeyAuth({ key: 'key-123', header: 'X-Key' }), rateLimit: limiter });
    const response = await api.request({ path: '/old/orders' });
    expect(response.data).toEqual({ via: '/new/orders' });
    expect(response.url).toBe(`${server.url}/new/orders`);
    expect(server.seen.map((r) => r.headers['x-key'])).toEqual(['key-123', 'key-123']);
    expect(limiter.permits()).toBe(2);
  });

  it('refuses a GET redirect to another origin: credentials stay on the base origin', async () => {
    const other = await serve((_req, res) => json(res, 200, {}));
    const server = await serve((_req, res) => text(res, 302, '', { location: `${other.url}/steal` }));
    const error = await failure(client(server, { auth: apiKeyAuth({ key: 'key-123' }) }).request({ path: '/orders' }));
    expect(error).toMatchObject({ status: 302, errorClass: 'fatal' });
    expect(error.message).toContain('another origin');
    expect(other.seen).toHaveLength(0);
  });

  it('refuses an absolute request URL on another origin before sending anything', async () => {
    const other = await serve((_req, res) => json(res, 200, {}));
    const server = await serve((_req, res) => json(res, 200, {}));
    const error = await failure(client(server).request({ path: `${other.url}/orders?page=2` }));
    expect(error).toBeInstanceOf(FatalError);
    expect(other.seen).toHaveLength(0);
    // The same origin is fine (a Link header's next page).
    await client(server).request({ path: `${server.url}/orders?page=2` });
    expect(server.seen.map((r) => r.url)).toEqual(['/orders?page=2']);
  });
});

describe('httpClient: Retry-After and rate-limit reset headers', () => {
  const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
  const cases: [name: string, headers: Record<string, string>, expected: number | undefined][] = [
    ['delta-seconds', { 'retry-after': '2' }, 2_000],
    ['IMF-fixdate', { 'retry-after': 'Thu, 01 Jan 2026 12:00:05 GMT' }, 5_000],
    ['RFC 850 date', { 'retry-after': 'Thursday, 01-Jan-26 12:00:07 GMT' }, 7_000],
    ['asctime date', { 'retry-after': 'Thu Jan  1 12:00:09 2026' }, 9_000],
    ['zero', { 'retry-after': '0' }, 0],
    ['a date in the past', { 'retry-after': 'Thu, 01 Jan 2026 11:00:00 GMT' }, 0],
    ['negative', { 'retry-after': '-5' }, undefined],
    ['garbage', { 'retry-after': 'soon' }, undefined],
    ['huge', { 'retry-after': '999999999999' }, 999_999_999_999_000],
    ['RateLimit-Reset (delta)', { 'ratelimit-reset': '3' }, 3_000],
    ['X-RateLimit-Reset (epoch seconds)', { 'x-ratelimit-reset': String(NOW / 1000 + 11) }, 11_000],
    ['X-RateLimit-Reset (delta)', { 'x-ratelimit-reset': '4' }, 4_000],
    ['X-RateLimit-Retry-After', { 'x-ratelimit-retry-after': '6' }, 6_000],
    ['garbage Retry-After, then a reset header', { 'retry-after': 'later', 'x-ratelimit-reset': '8' }, 8_000],
  ];
  it.each(cases)('429 with %s', async (_name, headers, expected) => {
    const server = await serve((_req, res) => json(res, 429, { error: 'slow down' }, headers));
    const clock = new FakeClock({ now: NOW });
    const error = await failure(client(server, { clock }).request({ path: '/orders' }));
    const cause = error.cause as HttpError;
    expect(cause).toBeInstanceOf(HttpError);
    expect(cause.retryAfterMs).toBe(expected);
    if (expected !== undefined) expect(cause.message).toContain(`asked to wait ${expected} ms`);
  });

  it('a 429 with a wait pauses the named limiter, capped by the policy’s maxRetryAfterMs', async () => {
    let retryAfter = '30';
    const server = await serve((_req, res) => json(res, 429, {}, { 'retry-after': retryAfter }));
    const clock = new FakeClock({ now: NOW });
    const limiter = rateLimiter({ name: 'shop-api', clock });
    limiters.push(limiter);
    const pauses: RateLimitPause[] = [];
    limiter.onPause((pause) => pauses.push(pause));
    const api = client(server, { clock, rateLimit: limiter, retry: retryPolicy({ attempts: 1, clock, maxRetryAfterMs: 60_000 }) });

    await failure(api.request({ path: '/orders', operation: 'orders.list' }));
    expect(limiter.pausedUntil()).toBe(NOW + 30_000);
    expect(pauses[0]).toMatchObject({ limiter: 'shop-api', durationMs: 30_000 });
    expect(pauses[0]!.reason).toBe('HTTP 429 on orders.list: the API asked to wait 30 s');

    // A huge wait is capped: the limiter must not hold every caller back for years.
    await clock.advance(30_000);
    retryAfter = '99999999';
    await failure(api.request({ path: '/orders' }));
    expect(limiter.pausedUntil()).toBe(NOW + 30_000 + 60_000);
  });

  it('waits out a Retry-After before the next attempt: the server sees the retry only after the wait', async () => {
    const clock = new FakeClock({ now: NOW });
    const arrivals: number[] = [];
    const server = await serve((_req, res) => {
      arrivals.push(clock.now());
      if (arrivals.length === 1) json(res, 429, {}, { 'retry-after': '5' });
      else json(res, 200, { ok: true });
    });
    const limiter = rateLimiter({ name: 'waits', clock });
    limiters.push(limiter);
    const api = client(server, { clock, rateLimit: limiter, retry: retryPolicy({ attempts: 3, clock }) });
    const response = await drive(clock, api.request({ path: '/orders' }));
    expect(response.data).toEqual({ ok: true });
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(5_000);
  });
});

describe('httpClient: 401 refresh and replay', () => {
  function rotatingAuth(): AuthProvider & { refreshes: number } {
    let token = 'old';
    const provider = {
      refreshes: 0,
      apply: async ({ headers }: { headers: Headers }) => {
        headers.set('authorization', `Bearer ${token}`);
      },
      refresh: async () => {
        provider.refreshes++;
        token = 'new';
      },
    };
    return provider;
  }

  it('refreshes the credentials and replays the request once', async () => {
    const server = await serve((req, res) => (req.headers.authorization === 'Bearer new' ? json(res, 200, { ok: 1 }) : json(res, 401, {})));
    const auth = rotatingAuth();
    const limiter = counting(rateLimiter({ name: 'replay' }));
    const response = await client(server, { auth, rateLimit: limiter }).request({ method: 'POST', path: '/invoices', json: {}, idempotencyKey: 'k1' });
    expect(response.data).toEqual({ ok: 1 });
    expect(auth.refreshes).toBe(1);
    expect(server.seen.map((r) => r.headers.authorization)).toEqual(['Bearer old', 'Bearer new']);
    // The replay is the same write: same idempotency key, its own rate-limit permit.
    expect(server.seen.map((r) => r.headers['idempotency-key'])).toEqual(['k1', 'k1']);
    expect(limiter.permits()).toBe(2);
  });

  it('a second 401 after the refresh is fatal: no further refresh, no retry', async () => {
    const server = await serve((_req, res) => json(res, 401, { error: 'invalid_token' }));
    const auth = rotatingAuth();
    const error = await failure(client(server, { auth, retry: noWait(5) }).request({ path: '/orders' }));
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 401, errorClass: 'fatal' });
    expect(error.message).toMatch(/rejected again right after they were refreshed/);
    expect(auth.refreshes).toBe(1);
    expect(server.seen).toHaveLength(2);
  });

  it('a 401 with a provider that cannot refresh is fatal at once', async () => {
    const server = await serve((_req, res) => json(res, 401, {}));
    const error = await failure(client(server, { auth: apiKeyAuth({ key: 'k' }), retry: noWait(5) }).request({ path: '/orders' }));
    expect(error).toMatchObject({ status: 401, errorClass: 'fatal' });
    expect(error.message).toMatch(/cannot renew them/);
    expect(server.seen).toHaveLength(1);
  });
});

describe('httpClient: response size limit', () => {
  it('fails before reading when Content-Length is above maxResponseBytes', async () => {
    const server = await serve((_req, res) => text(res, 200, 'x'.repeat(2_000)));
    const error = await failure(client(server, { maxResponseBytes: 1_000, retry: noWait(3) }).request({ path: '/export' }));
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({ limitBytes: 1_000, receivedBytes: 2_000, declared: true, errorClass: 'fatal' });
    expect(error.message).toContain('maxResponseBytes');
    // Fatal: the same request would get the same answer.
    expect(server.seen).toHaveLength(1);
  });

  it('stops reading a streamed body once it passes the limit', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Five chunks, no Content-Length: the limit is only found while streaming.
      for (let i = 0; i < 5; i++) res.write('y'.repeat(600));
      res.end();
    });
    const error = (await failure(client(server, { maxResponseBytes: 1_000 }).request({ path: '/export' }))) as ResponseTooLargeError;
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error.declared).toBe(false);
    expect(error.receivedBytes).toBeGreaterThan(1_000);
    expect(error.receivedBytes).toBeLessThanOrEqual(3_000);
  });
});

describe('httpClient: 2xx bodies that are not the JSON promised', () => {
  it('retries an HTML 200 and, when the policy gives up, the page fails with RetryExhaustedError', async () => {
    const server = await serve((_req, res) => text(res, 200, '<!doctype html><html><body>Please log in</body></html>', { 'content-type': 'text/html' }));
    const error = await failure(client(server, { retry: noWait(3) }).request({ path: '/orders' }));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(server.seen).toHaveLength(3);
    const cause = error.cause as InvalidResponseError;
    expect(cause).toBeInstanceOf(InvalidResponseError);
    expect(cause).toMatchObject({ reason: 'not-json', status: 200, errorClass: 'retryable' });
    expect(cause.message).toContain('content-type text/html');
    expect(cause.message).toContain('<!doctype html>');
  });

  it('retries a body that does not match the schema, naming the failing paths', async () => {
    let calls = 0;
    const server = await serve((_req, res) => json(res, 200, ++calls === 1 ? { orders: [{ id: 'one' }] } : { orders: [{ id: 1 }] }));
    const schema = z.object({ orders: z.array(z.object({ id: z.number() })) });
    const response = await client(server, { retry: noWait(2) }).request({ path: '/orders' }, schema);
    expect(response.data.orders[0]!.id).toBe(1);

    const bad = await serve((_req, res) => json(res, 200, { orders: [{ id: 'one' }] }));
    const error = await failure(client(bad).request({ path: '/orders' }, schema));
    expect(error.cause).toBeInstanceOf(InvalidResponseError);
    expect((error.cause as InvalidResponseError).issues[0]).toMatch(/^orders\.0\.id: /);
  });

  it('a body cut off mid-way (truncated JSON) is retried', async () => {
    const server = await serve((_req, res) => {
      if (server.seen.length === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"orders": [{"id"');
        setTimeout(() => res.socket?.destroy(), 5);
      } else {
        json(res, 200, { orders: [] });
      }
    });
    const response = await client(server, { retry: noWait(2) }).request({ path: '/orders' });
    expect(response.data).toEqual({ orders: [] });
    expect(server.seen).toHaveLength(2);
  });

  it('a complete but truncated JSON text is an invalid response', async () => {
    const server = await serve((_req, res) => text(res, 200, '{"orders": [', { 'content-type': 'application/json' }));
    const error = await failure(client(server).request({ path: '/orders' }));
    expect(error.cause).toMatchObject({ name: 'InvalidResponseError', reason: 'not-json' });
  });
});

describe('httpClient: timeouts and network errors', () => {
  it('an attempt that gets no answer times out after timeoutMs and is retried', async () => {
    const server = await serve(() => undefined);
    const started = Date.now();
    const error = await failure(client(server, { timeoutMs: 50, retry: noWait(3) }).request({ path: '/slow' }));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.cause).toBeInstanceOf(HttpTimeoutError);
    expect(error.cause).toMatchObject({ timeoutMs: 50, errorClass: 'retryable' });
    expect(server.seen).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('the timeout also covers a body that stalls after the headers', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"orders":');
    });
    const error = await failure(client(server, { timeoutMs: 50 }).request({ path: '/slow' }));
    expect(error.cause).toBeInstanceOf(HttpTimeoutError);
  });

  it('a refused connection is a retryable network error', async () => {
    const server = await startServer(() => undefined);
    await server.close();
    const error = await failure(httpClient({ baseUrl: server.url, retry: noWait(2) }).request({ path: '/orders' }));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.cause).toBeInstanceOf(HttpNetworkError);
    expect(error.cause).toMatchObject({ errorCode: 'ECONNREFUSED', errorClass: 'retryable' });
  });

  it('the caller’s signal stops the request and its retries', async () => {
    const server = await serve(() => undefined);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 20);
    const error = await failure(client(server, { retry: noWait(5) }).request({ path: '/slow', signal: controller.signal }));
    expect(error).toBe(reason);
    expect(server.seen).toHaveLength(1);
  });
});

describe('httpClient: secrets stay out of errors', () => {
  it('redacts a query API key in URLs and scrubs echoed credentials from body excerpts', async () => {
    const key = 'canary-key-5f1c9a';
    const server = await serve((req, res) => json(res, 404, { url: req.url, headers: req.headers }));
    const api = client(server, { auth: apiKeyAuth({ key, query: 'api_key' }), headers: { 'X-Session-Token': 'canary-session-77ab' } });
    const error = (await failure(api.request({ path: '/orders', query: { page: 2 } }))) as HttpError;
    expect(server.seen[0]!.url).toBe(`/orders?page=2&api_key=${key}`);
    expect(error.url).toBe(`${server.url}/orders?page=2&api_key=[REDACTED]`);
    expect(error.message).not.toContain(key);
    expect(error.message).not.toContain('canary-session-77ab');
    expect(error.message).toContain('[REDACTED]');
    expect(error.bodySnippet!.length).toBeLessThanOrEqual(200);
  });
});

describe('httpClient: response headers and request id on HttpError', () => {
  it('keeps the response headers (credential-bearing ones redacted) and names the request id in the message', async () => {
    const token = 'canary-token-91c2e';
    const server = await serve((_req, res) =>
      json(res, 409, { error: 'conflict' }, {
        'Idempotent-Replayed': 'true',
        'Request-Id': 'req_8Hk2',
        'Retry-After-Ms': '250',
        'Set-Cookie': 'session=abc123; HttpOnly',
        'WWW-Authenticate': 'Bearer realm="internal-admin"',
        'X-Access-Key': 'ak-7731',
        'X-Echo': `Bearer ${token}`,
        'Idempotency-Key': 'order-1042',
      }),
    );
    const error = (await failure(client(server, { auth: { apply: async ({ headers }) => headers.set('authorization', `Bearer ${token}`), secrets: () => [token] } }).request({ method: 'POST', path: '/charges', idempotencyKey: 'order-1042' }))) as HttpError;
    expect(error).toBeInstanceOf(HttpError);
    expect(error.headers['idempotent-replayed']).toBe('true');
    expect(error.headers['retry-after-ms']).toBe('250');
    expect(error.headers['idempotency-key']).toBe('order-1042');
    expect(error.headers['set-cookie']).toBe('[REDACTED]');
    expect(error.headers['www-authenticate']).toBe('[REDACTED]');
    expect(error.headers['x-access-key']).toBe('[REDACTED]');
    // A server that echoes the credential in another header does not leak it.
    expect(error.headers['x-echo']).toContain('[REDACTED]');
    expect(error.headers['x-echo']).not.toContain(token);
    expect(Object.keys(error.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(Object.isFrozen(error.headers)).toBe(true);
    expect(error.requestId).toBe('req_8Hk2');
    expect(error.message).toMatch(/answered HTTP 409 Conflict \(request id req_8Hk2\)\./);
    expect(JSON.stringify(error.headers)).not.toContain(token);
    expect(JSON.stringify(error.headers)).not.toContain('abc123');
  });

  it('takes the request id from the first header present, X-Request-Id before CF-Ray', async () => {
    const server = await serve((_req, res) => json(res, 404, {}, { 'CF-Ray': '8a1b-AMS', 'X-Request-Id': 'abc-123' }));
    const error = (await failure(client(server).request({ path: '/missing' }))) as HttpError;
    expect(error.requestId).toBe('abc-123');
    const cdn = await serve((_req, res) => json(res, 404, {}, { 'CF-Ray': '8a1b-AMS' }));
    expect(((await failure(client(cdn).request({ path: '/missing' }))) as HttpError).requestId).toBe('8a1b-AMS');
    const none = await serve((_req, res) => json(res, 404, {}));
    const bare = (await failure(client(none).request({ path: '/missing' }))) as HttpError;
    expect(bare.requestId).toBeUndefined();
    expect(bare.message).not.toMatch(/request id/);
  });

  it('a permanent 4xx says what happens in a sink and in a source, not only that a record is dead-lettered', async () => {
    const server = await serve((_req, res) => json(res, 422, { error: 'invalid' }));
    const error = await failure(client(server).request({ path: '/orders' }));
    expect(error.message).toMatch(/not retried/);
    expect(error.message).toMatch(/sink writes a record, that record fails and is dead-lettered/);
    expect(error.message).toMatch(/source reads a page, the run stops/);
  });

  it('a connector building an HttpError itself gets the same normalised, redacted headers', () => {
    const error = new HttpError({
      method: 'POST',
      url: 'https://api.example.com/batch',
      operation: 'batch.item',
      status: 503,
      errorClass: 'retryable',
      headers: { 'X-Amzn-RequestId': 'amz-1', Authorization: 'Bearer secret-xyz', 'Idempotent-Replayed': 'true' },
    });
    expect(error.headers).toEqual({ 'x-amzn-requestid': 'amz-1', authorization: '[REDACTED]', 'idempotent-replayed': 'true' });
    expect(error.requestId).toBe('amz-1');
    expect(new HttpError({ method: 'GET', url: 'https://x.example/', operation: 'x', status: 500, errorClass: 'retryable' }).headers).toEqual({});
  });
});

describe('httpClient: options', () => {
  it.each([
    [{ baseUrl: 'ftp://files.example.com' }, 'httpClient.baseUrl'],
    [{ baseUrl: 'not a url' }, 'httpClient.baseUrl'],
    [{ baseUrl: 'https://user:pw@api.example.com' }, 'httpClient.baseUrl'],
    [{ baseUrl: 'https://api.example.com', timeoutMs: 0 }, 'httpClient.timeoutMs'],
    [{ baseUrl: 'https://api.example.com', maxResponseBytes: -1 }, 'httpClient.maxResponseBytes'],
    [{ baseUrl: 'https://api.example.com', headers: { 'X-Evil': 'a\r\nb' } }, 'httpClient.headers.X-Evil'],
    [{ baseUrl: 'https://api.example.com', auth: { token: 'x' } }, 'httpClient.auth'],
    [{ baseUrl: 'https://api.example.com', retries: 3 }, 'retries'],
  ])('rejects %j naming %s', (options, path) => {
    expect(() => httpClient(options as unknown as HttpClientOptions)).toThrow(InvalidOptionsError);
    expect(() => httpClient(options as unknown as HttpClientOptions)).toThrow(path);
  });

  it('does not mutate the caller’s options', () => {
    const options = { baseUrl: 'https://api.example.com/v1', headers: { 'X-A': '1' } };
    const frozen = JSON.stringify(options);
    httpClient(options);
    expect(JSON.stringify(options)).toBe(frozen);
  });

  it('rejects a JSON body on a GET before sending', async () => {
    const server = await serve((_req, res) => json(res, 200, {}));
    await expect(client(server).request({ path: '/orders', json: { a: 1 } })).rejects.toThrow(InvalidOptionsError);
    expect(server.seen).toHaveLength(0);
  });
});
