/**
 * The canary test: unique secrets everywhere a credential can go, servers that fail in every way and
 * echo the request back, real pipelines — then every artefact is scanned for every secret.
 */
import type { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  memoryStores,
  pipeline,
  rateLimiter,
  retryPolicy,
  type PipelineEvents,
  type RateLimiter,
  type RetryInfo,
  type RetryPolicyOptions,
  type Sink,
  type SinkResult,
  type Source,
  type Stores,
} from '../../src/index.js';
import {
  apiKeyAuth,
  basicAuth,
  bearerAuth,
  httpClient,
  oauth2ClientCredentials,
  oauth2RefreshToken,
  type AuthProvider,
  type HttpClient,
} from '../../src/http/index.js';
import { json, startServer, text, type LocalServer, type SeenRequest } from './local-server.js';

// ── the canaries ───────────────────────────────────────────────────────────────────────────────────

const API_KEY_HEADER = 'CANARYapikeyheader7f3a91';
const API_KEY_QUERY = 'CANARYapikeyquery-b2c4d8';
const BEARER = 'CANARY.bearer_token-9e1f02';
const BASIC_USER = 'sync';
const BASIC_PASSWORD = 'CANARY-basic-pass-4a7c33';
const CLIENT_ID = 'accounting-sync';
const CLIENT_SECRET = 'CANARY-client-secret-5d2e81';
const REFRESH_TOKEN = 'CANARY-refresh-token-0c9b66';
/** Prefix of every access token and rotated refresh token the token endpoint issues. */
const ISSUED = 'CANARY-issued';

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
/** What the scan looks for: every secret, plus the encoded forms that do not contain "CANARY". */
const NEEDLES = [
  'CANARY',
  base64(`${BASIC_USER}:${BASIC_PASSWORD}`),
  base64(`${CLIENT_ID}:${CLIENT_SECRET}`),
  // Base64 of the secrets at each of the three alignments, minus the unstable edges.
  ...[API_KEY_HEADER, API_KEY_QUERY, BEARER, BASIC_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN].flatMap((secret) =>
    [0, 1, 2].map((shift) => base64(`${'x'.repeat(shift)}${secret}`).slice(4, -4)),
  ),
];

// ── servers that fail in every way and echo the request ─────────────────────────────────────────────

/** Everything a server got, secrets included, first (so it lands inside a 200-character excerpt). */
function echo(req: SeenRequest): string {
  return `you sent: auth=${req.headers.authorization ?? ''} key=${String(req.headers['x-api-key'] ?? '')} url=${req.url} body=${req.body} headers=${JSON.stringify(req.headers)}`;
}

type PageFault = 'ok' | '500' | 'html' | '429' | '401' | '403' | 'truncated' | 'end';

interface Order {
  readonly id: string;
  readonly total: number;
  /** What the accounting API does with this order's invoice. */
  readonly fault: 'ok' | '422' | '500-once' | 'html-once' | '429-once' | '401-once' | '403';
}

let shopScript = new Map<number, PageFault[]>();
let shopOrders = new Map<number, Order[]>();

function shopHandler(req: SeenRequest, res: ServerResponse): void {
  const url = new URL(req.url, 'http://x');
  const page = Number(url.searchParams.get('page'));
  const fault = shopScript.get(page)?.shift() ?? 'ok';
  switch (fault) {
    case '500':
      return json(res, 500, { error: echo(req) });
    case 'html':
      return text(res, 200, `<html><body>${echo(req)}</body></html>`, { 'content-type': 'text/html' });
    case '429':
      return json(res, 429, { error: echo(req) }, { 'retry-after': '1' });
    case '401':
      return json(res, 401, { error: echo(req) });
    case '403':
      return json(res, 403, { error: echo(req) });
    case 'truncated': {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '10000' });
      res.write(`{"orders": "${echo(req).replaceAll('"', "'")}`);
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    case 'end':
      return json(res, 200, { orders: [] });
    default:
      return json(res, 200, { orders: shopOrders.get(page) ?? [] });
  }
}

/** Access tokens the token endpoint issued and the accounting API accepts. */
const validAccess = new Set<string>();
let accountingAuth: (authorization: string | undefined) => boolean = () => true;
const onceFaults = new Set<string>();

function accountingHandler(req: SeenRequest, res: ServerResponse): void {
  if (!accountingAuth(req.headers.authorization)) return json(res, 401, { error: echo(req) });
  const order = JSON.parse(req.body) as Order;
  const first = !onceFaults.has(order.id);
  onceFaults.add(order.id);
  switch (order.fault) {
    case '422':
      return json(res, 422, { error: `invalid invoice; ${echo(req)}` });
    case '403':
      return json(res, 403, { error: echo(req) });
    case '500-once':
      if (first) return json(res, 500, { error: echo(req) });
      break;
    case 'html-once':
      if (first) return text(res, 200, `<!doctype html><p>${echo(req)}</p>`, { 'content-type': 'text/html' });
      break;
    case '429-once':
      if (first) return json(res, 429, { error: echo(req) }, { 'retry-after': '1' });
      break;
    case '401-once':
      if (first) {
        // The token is revoked early: the next request with it is refused.
        validAccess.clear();
        return json(res, 401, { error: echo(req) });
      }
      break;
    default:
      break;
  }
  return json(res, 201, { number: `INV-${order.id}` });
}

type TokenFault = 'ok' | '500' | '503' | 'invalid_client' | 'invalid_grant';
let tokenScript: TokenFault[] = [];
let issuedCount = 0;
const validRefresh = new Set<string>();

function tokenHandler(req: SeenRequest, res: ServerResponse): void {
  const form = new URLSearchParams(req.body);
  const fault = tokenScript.shift() ?? 'ok';
  // Error responses echo the whole request: form body (client secret, refresh token) and Authorization.
  const echoed = { error_description: echo(req) };
  if (fault === '500' || fault === '503') return json(res, Number(fault), { error: 'server_error', ...echoed });
  if (fault === 'invalid_client') return json(res, 401, { error: 'invalid_client', ...echoed });
  const grant = form.get('grant_type');
  if (grant === 'refresh_token') {
    const presented = form.get('refresh_token') ?? '';
    if (fault === 'invalid_grant' || !validRefresh.has(presented)) return json(res, 400, { error: 'invalid_grant', ...echoed });
    validRefresh.delete(presented);
  }
  issuedCount++;
  const access = `${ISSUED}-access-${issuedCount}`;
  validAccess.add(access);
  const body: Record<string, unknown> = { access_token: access, token_type: 'Bearer', expires_in: 3600 };
  if (grant === 'refresh_token') {
    const rotated = `${ISSUED}-refresh-${issuedCount}`;
    validRefresh.add(rotated);
    body['refresh_token'] = rotated;
  }
  return json(res, 200, body);
}

// ── the artefacts ──────────────────────────────────────────────────────────────────────────────────

/** Every artefact, as the text someone could read: logs, dumps, stored rows. */
const artefacts: { readonly kind: string; readonly text: string }[] = [];

function dumpJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, function replacer(_key, current: unknown) {
    if (typeof current === 'object' && current !== null) {
      if (seen.has(current)) return '[Circular]';
      seen.add(current);
    }
    if (current instanceof Error) {
      const own: Record<string, unknown> = {};
      for (const name of Object.getOwnPropertyNames(current)) own[name] = (current as unknown as Record<string, unknown>)[name];
      return { name: current.name, message: current.message, stack: current.stack, cause: current.cause, ...own };
    }
    if (current instanceof Headers || current instanceof URL) return String(inspect(current));
    return current;
  });
}

/** An artefact in every form it could be shown: util.inspect (stack, cause chain, own props) and JSON. */
function collect(kind: string, value: unknown): void {
  const shown =
    typeof value === 'string'
      ? value
      : `${inspect(value, { depth: 20, breakLength: Infinity, maxArrayLength: null, maxStringLength: null })}\n${dumpJson(value) ?? ''}`;
  artefacts.push({ kind, text: shown });
}

const EVENTS: (keyof PipelineEvents)[] = ['run:start', 'run:end', 'batch', 'checkpoint', 'retry', 'rate-limited', 'dead-letter', 'error'];

// ── the pipelines ──────────────────────────────────────────────────────────────────────────────────

let shop: LocalServer;
let accounting: LocalServer;
let authServer: LocalServer;
const limiters: RateLimiter[] = [];
const consoleLines: string[] = [];

/** Fast retries; `Retry-After` waits capped at 30 ms so a 429 still pauses the limiter, briefly. */
const fastRetry: RetryPolicyOptions = { attempts: 4, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 30 };

const pageSchema = z.object({ orders: z.array(z.object({ id: z.string(), total: z.number(), fault: z.string() })) });

function shopSource(auth: AuthProvider, headers: Record<string, string> = {}): Source<Order, { page: number }> {
  return {
    name: 'shop-orders',
    cursorSchema: z.object({ page: z.number().int() }),
    async *read(ctx) {
      // The source's client uses the pipeline's policy and limiter: one retry layer, one budget.
      const client = httpClient({
        baseUrl: `${shop.url}/api`,
        auth,
        headers,
        retry: ctx.retry,
        onRetry: logRetry,
        ...(ctx.limiter ? { rateLimit: ctx.limiter } : {}),
      });
      for (let page = (ctx.cursor?.page ?? 0) + 1; page <= 10; page++) {
        const response = await client.request({ path: '/orders', query: { page }, signal: ctx.signal, operation: 'orders.list' }, pageSchema);
        if (response.data.orders.length === 0) return;
        yield { records: response.data.orders.map((order) => ({ key: order.id, data: order as Order })), cursor: { page } };
      }
    },
  };
}

function invoiceSink(client: HttpClient): Sink<Order> {
  return {
    name: 'accounting-invoices',
    async write(records, ctx) {
      return Promise.all(
        records.map(async (record): Promise<SinkResult> => {
          try {
            const response = await client.request(
              { method: 'POST', path: '/invoices', json: record.data, idempotencyKey: record.idempotencyKey, signal: ctx.signal, operation: 'invoices.create' },
              z.object({ number: z.string() }),
            );
            return { key: record.key, status: 'written', ref: response.data.number };
          } catch (error) {
            return { key: record.key, status: 'failed', error };
          }
        }),
      );
    },
  };
}

let clientRetries = 0;
/** What an application logging the client's retries would do. */
function logRetry(info: RetryInfo): void {
  clientRetries++;
  collect('client retry', info);
  console.warn(`retrying ${info.operation} (attempt ${info.attempt}) in ${info.delayMs} ms:`, info.error);
}

function accountingClient(auth: AuthProvider, limiter: RateLimiter): HttpClient {
  return httpClient({ baseUrl: accounting.url, auth, retry: retryPolicy(fastRetry), rateLimit: limiter, onRetry: logRetry });
}

interface Scenario {
  readonly id: string;
  readonly pages: Record<number, { faults?: PageFault[]; orders?: Order[] }>;
  readonly tokens?: TokenFault[];
  readonly source: () => Source<Order, { page: number }>;
  readonly sinkAuth: (stores: Stores) => AuthProvider;
  readonly accepts: (authorization: string | undefined) => boolean;
  /** The run's expected end. */
  readonly status: 'completed' | 'failed';
}

const order = (id: string, fault: Order['fault'] = 'ok'): Order => ({ id, total: 10, fault });
const acceptsIssued = (authorization: string | undefined): boolean => validAccess.has(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '');

const scenarios: Scenario[] = [
  {
    // Query API key on the source; OAuth2 client credentials with a flaky token endpoint on the sink.
    id: 'client-credentials',
    pages: {
      1: { orders: [order('a1'), order('a2', '422'), order('a3', '500-once')] },
      2: { faults: ['500', 'html', 'ok'], orders: [order('a4', 'html-once'), order('a5', '401-once'), order('a6')] },
      3: { faults: ['429', 'ok'], orders: [order('a7', '429-once'), order('a8'), order('a9')] },
      4: { faults: ['401'] },
    },
    tokens: ['500', 'ok', '503', 'ok'],
    source: () => shopSource(apiKeyAuth({ key: API_KEY_QUERY, query: 'api_key' })),
    sinkAuth: () => oauth2ClientCredentials({ tokenUrl: `${authServer.url}/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, retry: fastRetry }),
    accepts: acceptsIssued,
    status: 'failed',
  },
  {
    // Header API key (and a credential-like default header); OAuth2 refresh token, later refused.
    id: 'refresh-token',
    pages: {
      1: { faults: ['truncated', 'ok'], orders: [order('b1'), order('b2', '422'), order('b3')] },
      2: { orders: [order('b4', '401-once'), order('b5')] },
      3: { faults: ['end'] },
    },
    tokens: ['ok', 'invalid_grant'],
    source: () => shopSource(apiKeyAuth({ key: API_KEY_HEADER }), { 'X-Session-Token': `${API_KEY_HEADER}-session` }),
    sinkAuth: (stores) =>
      oauth2RefreshToken({
        tokenUrl: `${authServer.url}/token?client=${CLIENT_ID}`,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        clientAuth: 'body',
        refreshToken: REFRESH_TOKEN,
        store: stores.kv!,
        storeKey: 'accounting',
        retry: fastRetry,
      }),
    accepts: acceptsIssued,
    status: 'failed',
  },
  {
    id: 'bearer-403',
    pages: { 1: { orders: [order('c1', '422'), order('c2'), order('c3', '403')] }, 2: { faults: ['end'] } },
    source: () => shopSource(apiKeyAuth({ key: API_KEY_HEADER, header: 'X-API-Key' })),
    sinkAuth: () => bearerAuth({ token: BEARER }),
    accepts: (authorization) => authorization === `Bearer ${BEARER}`,
    status: 'failed',
  },
  {
    id: 'basic-completes',
    pages: {
      1: { orders: [order('d1', '422'), order('d2', '500-once'), order('d3', 'html-once')] },
      2: { faults: ['500', 'end'] },
    },
    source: () => shopSource(apiKeyAuth({ key: API_KEY_QUERY, query: 'api_key' })),
    sinkAuth: () => basicAuth({ username: BASIC_USER, password: BASIC_PASSWORD }),
    accepts: (authorization) => authorization === `Basic ${base64(`${BASIC_USER}:${BASIC_PASSWORD}`)}`,
    status: 'completed',
  },
  {
    id: 'source-403',
    pages: { 1: { orders: [order('g1')] }, 2: { faults: ['403'] } },
    source: () => shopSource(apiKeyAuth({ key: API_KEY_HEADER })),
    sinkAuth: () => bearerAuth({ token: BEARER }),
    accepts: (authorization) => authorization === `Bearer ${BEARER}`,
    status: 'failed',
  },
  {
    id: 'token-endpoint-down',
    pages: { 1: { orders: [order('e1')] }, 2: { faults: ['end'] } },
    tokens: ['500', '503', '500', '503'],
    source: () => shopSource(apiKeyAuth({ key: API_KEY_QUERY, query: 'api_key' })),
    sinkAuth: () => oauth2ClientCredentials({ tokenUrl: `${authServer.url}/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, retry: fastRetry }),
    accepts: acceptsIssued,
    status: 'failed',
  },
  {
    id: 'invalid-client',
    pages: { 1: { orders: [order('f1')] }, 2: { faults: ['end'] } },
    tokens: ['invalid_client'],
    source: () => shopSource(apiKeyAuth({ key: API_KEY_QUERY, query: 'api_key' })),
    sinkAuth: () => oauth2ClientCredentials({ tokenUrl: `${authServer.url}/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clientAuth: 'body', retry: fastRetry }),
    accepts: acceptsIssued,
    status: 'failed',
  },
];

beforeAll(async () => {
  shop = await startServer(shopHandler);
  accounting = await startServer(accountingHandler);
  authServer = await startServer(tokenHandler);
});

afterAll(async () => {
  await Promise.all([shop, accounting, authServer].map((server) => server.close()));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(limiters.splice(0).map((limiter) => limiter.stop()));
});

/** Captures console output (what a user's event logging would print) while `work` runs. */
async function withConsoleCaptured<T>(work: () => Promise<T>): Promise<T> {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 20, breakLength: Infinity }))).join(' '));
    });
  }
  try {
    return await work();
  } finally {
    vi.restoreAllMocks();
  }
}

async function runScenario(scenario: Scenario): Promise<{ status: string; deadLettered: number; retries: number; pauses: number }> {
  shopScript = new Map(Object.entries(scenario.pages).map(([page, spec]) => [Number(page), [...(spec.faults ?? [])]]));
  shopOrders = new Map(Object.entries(scenario.pages).map(([page, spec]) => [Number(page), spec.orders ?? []]));
  tokenScript = [...(scenario.tokens ?? [])];
  validAccess.clear();
  validRefresh.clear();
  validRefresh.add(REFRESH_TOKEN);
  accountingAuth = scenario.accepts;

  const stores = memoryStores();
  const limiter = rateLimiter({ name: `accounting-${scenario.id}` });
  limiters.push(limiter);
  const sink = invoiceSink(accountingClient(scenario.sinkAuth(stores), limiter));
  const flow = pipeline({
    id: `canary-${scenario.id}`,
    source: scenario.source(),
    stores,
    batch: { size: 3, maxWaitMs: 10 },
    retry: fastRetry,
    rateLimit: limiter,
    audit: { payload: true },
  }).to(sink);

  let retries = 0;
  let pauses = 0;
  for (const name of EVENTS) {
    flow.on(name, (payload: unknown) => {
      if (name === 'retry') retries++;
      if (name === 'rate-limited') pauses++;
      collect(`event ${name}`, payload);
      // What an application logging its pipeline would print.
      console.warn(`[${scenario.id}] ${name}`, payload);
    });
  }

  let status: string;
  let deadLettered: number;
  try {
    const summary = await withConsoleCaptured(() => flow.run());
    collect('run summary', summary);
    status = summary.status;
    deadLettered = summary.deadLettered;
  } catch (error) {
    collect('thrown error', error);
    const summary = (error as { summary?: { status: string; deadLettered: number } }).summary;
    collect('run summary', summary);
    status = summary?.status ?? 'threw';
    deadLettered = summary?.deadLettered ?? 0;
  }
  for (const row of await stores.audit!.query({ pipelineId: flow.id, limit: 100_000 })) collect('audit row', row);
  for (const entry of await stores.deadLetters.list(flow.id, { limit: 1_000 })) collect('dead letter', entry);
  collect('checkpoint', await stores.checkpoints.load(flow.id));
  return { status, deadLettered, retries, pauses };
}

describe('canary: no secret reaches any artefact', () => {
  it('runs every failure against echoing servers, then finds 0 canaries in audit rows, dead letters, events, summaries, errors and logs', async () => {
    const outcomes: Record<string, Awaited<ReturnType<typeof runScenario>>> = {};
    for (const scenario of scenarios) outcomes[scenario.id] = await runScenario(scenario);

    // Direct calls that fail outside a pipeline: errors a caller would log.
    await withConsoleCaptured(async () => {
      const direct = httpClient({
        baseUrl: shop.url,
        auth: apiKeyAuth({ key: API_KEY_QUERY, query: 'api_key' }),
        headers: { Authorization: `Bearer ${BEARER}` },
        retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
      });
      shopScript = new Map([[9, ['500', '500', '401', 'html', 'html']]]);
      for (let i = 0; i < 3; i++) {
        try {
          await direct.request({ path: '/api/orders', query: { page: 9 } }, pageSchema);
        } catch (error) {
          collect('thrown error', error);
          console.error('request failed:', error);
        }
      }
    });
    for (const line of consoleLines) collect('console line', line);

    const found: string[] = [];
    for (const artefact of artefacts) {
      for (const needle of NEEDLES) {
        const at = artefact.text.indexOf(needle);
        if (at >= 0) found.push(`${artefact.kind}: …${artefact.text.slice(Math.max(0, at - 80), at + 80)}…`);
      }
    }
    const kinds = new Map<string, number>();
    for (const artefact of artefacts) kinds.set(artefact.kind, (kinds.get(artefact.kind) ?? 0) + 1);
    console.info(
      `canary scan: ${artefacts.length} artefacts scanned (${[...kinds].map(([kind, n]) => `${n} ${kind}`).join(', ')}), ${found.length} canaries found`,
    );

    // The runs ended the way each scenario scripted, so every failure path was taken.
    for (const scenario of scenarios) expect({ id: scenario.id, status: outcomes[scenario.id]!.status }).toEqual({ id: scenario.id, status: scenario.status });
    expect(outcomes['client-credentials']).toMatchObject({ deadLettered: 1 });
    expect(outcomes['client-credentials']!.pauses).toBeGreaterThan(0);
    expect(outcomes['refresh-token']).toMatchObject({ deadLettered: 1 });
    expect(outcomes['basic-completes']).toMatchObject({ deadLettered: 1 });
    // The scripted 5xx, HTML and 401 answers were retried by the client (how many exactly depends on how
    // far a failing run got before it stopped).
    expect(clientRetries).toBeGreaterThanOrEqual(8);
    // And the run saw them: the client's retries inside the sink and the source are the run's `retry` events.
    expect(outcomes['client-credentials']!.retries).toBeGreaterThanOrEqual(5);
    expect(outcomes['basic-completes']!.retries).toBeGreaterThanOrEqual(3);

    // The secrets really were on the wire, and the servers echoed them back.
    const wire = (server: LocalServer) => server.seen.map((r) => `${r.url} ${JSON.stringify(r.headers)} ${r.body}`).join('\n');
    expect(wire(shop)).toContain(`api_key=${API_KEY_QUERY}`);
    expect(wire(shop)).toContain(API_KEY_HEADER);
    expect(wire(accounting)).toContain(BEARER);
    expect(wire(accounting)).toContain(base64(`${BASIC_USER}:${BASIC_PASSWORD}`));
    expect(wire(accounting)).toContain(`${ISSUED}-access-`);
    expect(wire(authServer)).toContain(base64(`${CLIENT_ID}:${CLIENT_SECRET}`));
    expect(wire(authServer)).toContain(CLIENT_SECRET);
    expect(wire(authServer)).toContain(REFRESH_TOKEN);
    expect(wire(authServer)).toContain(`${ISSUED}-refresh-`);
    // …and what came back was scrubbed, not dropped.
    expect(artefacts.some((a) => a.text.includes('[REDACTED]'))).toBe(true);

    expect(found).toEqual([]);
    expect(artefacts.length).toBeGreaterThan(100);
  });
});
