import { Events, OAuth2Server } from 'oauth2-mock-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FatalError,
  InvalidOptionsError,
  MemoryKeyValueStore,
  memorySource,
  memoryStores,
  pipeline,
  RetryExhaustedError,
  retryPolicy,
  type KeyValueStore,
  type RetryPolicy,
  type Sink,
} from '../../src/index.js';
import {
  apiKeyAuth,
  basicAuth,
  bearerAuth,
  httpClient,
  OAUTH2_KV_NAMESPACE,
  oauth2ClientCredentials,
  oauth2RefreshToken,
  OAuth2TokenError,
  type AuthProvider,
  type HttpClient,
} from '../../src/http/index.js';
import { FakeClock } from '../../src/testing/index.js';
import { json, startServer, type LocalServer } from './local-server.js';

const NOW = Date.UTC(2026, 0, 1, 9, 0, 0);
const noWait = (attempts: number): RetryPolicy => retryPolicy({ attempts, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 });

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );
}

/** An API that echoes the credentials it got, so a test can check what each provider sends. */
async function echoApi(): Promise<LocalServer> {
  const server = await startServer((req, res) => json(res, 200, { url: req.url, authorization: req.headers.authorization ?? null, key: req.headers['x-api-key'] ?? null }));
  servers.push(server);
  return server;
}

describe('static credentials', () => {
  it('apiKeyAuth sends the key in X-API-Key, in a named header, or as a query parameter', async () => {
    const api = await echoApi();
    const viaHeader = httpClient({ baseUrl: api.url, auth: apiKeyAuth({ key: 'k-1' }) });
    expect((await viaHeader.request({ path: '/a' })).data).toMatchObject({ key: 'k-1' });
    const named = httpClient({ baseUrl: api.url, auth: apiKeyAuth({ key: 'k-2', header: 'Authorization' }) });
    expect((await named.request({ path: '/a' })).data).toMatchObject({ authorization: 'k-2' });
    const viaQuery = httpClient({ baseUrl: api.url, auth: apiKeyAuth({ key: 'k 3&x', query: 'api_key' }) });
    const response = await viaQuery.request({ path: '/a', query: { page: 1 } });
    expect(response.data).toMatchObject({ url: '/a?page=1&api_key=k+3%26x' });
    expect(response.url).toBe(`${api.url}/a?page=1&api_key=[REDACTED]`);
  });

  it('basicAuth sends RFC 7617 credentials (UTF-8)', async () => {
    const api = await echoApi();
    const client = httpClient({ baseUrl: api.url, auth: basicAuth({ username: 'sync', password: 'pä$$' }) });
    expect((await client.request({ path: '/' })).data).toMatchObject({ authorization: `Basic ${Buffer.from('sync:pä$$').toString('base64')}` });
  });

  it('bearerAuth sends a fixed token, or asks getToken before every request and again after a 401', async () => {
    const api = await echoApi();
    const fixed = httpClient({ baseUrl: api.url, auth: bearerAuth({ token: 'tok-1' }) });
    expect((await fixed.request({ path: '/' })).data).toMatchObject({ authorization: 'Bearer tok-1' });

    const tokens = ['expired', 'fresh'];
    let calls = 0;
    const strict = await startServer((req, res) => (req.headers.authorization === 'Bearer fresh' ? json(res, 200, {}) : json(res, 401, {})));
    servers.push(strict);
    const dynamic = httpClient({ baseUrl: strict.url, auth: bearerAuth({ getToken: async () => tokens[Math.min(calls++, 1)]! }) });
    await dynamic.request({ path: '/' });
    expect(calls).toBe(2);
    expect(strict.seen.map((r) => r.headers.authorization)).toEqual(['Bearer expired', 'Bearer fresh']);
  });

  it.each([
    [() => apiKeyAuth({ key: '' }), 'apiKeyAuth'],
    [() => apiKeyAuth({ key: 'a\nb' }), 'apiKeyAuth'],
    [() => basicAuth({ username: 'a:b', password: 'x' }), 'basicAuth.username'],
    [() => bearerAuth({ token: '' }), 'bearerAuth'],
  ])('rejects bad options (%#)', (make, path) => {
    expect(make).toThrow(InvalidOptionsError);
    expect(make).toThrow(path);
  });

  it('apiKeyAuth with an undefined key (an unset environment variable) names `key` and what it should be', () => {
    const make = () => apiKeyAuth({ key: process.env['SYNCLINE_TEST_UNSET_KEY']! });
    expect(make).toThrow(InvalidOptionsError);
    expect(make).toThrow('Expected `apiKeyAuth.key` to be the API key, a non-empty string (is its environment variable set?), got undefined.');
    expect(() => apiKeyAuth({ key: '' })).toThrow(/`apiKeyAuth\.key` to be the API key, a non-empty string/);
  });

  const store = new MemoryKeyValueStore();
  it.each([
    ['apiKeyAuth.key', () => apiKeyAuth({ key: 'canary-1\n', query: 'api_key' })],
    ['bearerAuth.token', () => bearerAuth({ token: 'canary 2' })],
    ['basicAuth.password', () => basicAuth({ username: 'u', password: 'canary-3\r\n' })],
    ['oauth2ClientCredentials.clientSecret', () => oauth2ClientCredentials({ tokenUrl: 'https://a.example/token', clientId: 'c', clientSecret: 'canary-4\n' })],
    ['oauth2RefreshToken.refreshToken', () => oauth2RefreshToken({ tokenUrl: 'https://a.example/token', clientId: 'c', refreshToken: 'canary-5\n', store, storeKey: 'k' })],
    ['httpClient.headers.X-Api-Token', () => httpClient({ baseUrl: 'https://a.example', headers: { 'X-Api-Token': 'canary-6\n' } })],
  ])('an invalid %s is reported without its value', (path, make) => {
    expect(make).toThrow(InvalidOptionsError);
    expect(make).toThrow(path);
    expect(make).not.toThrow(/canary/);
  });
});

// ── OAuth2 against oauth2-mock-server ───────────────────────────────────────────────────────────────

interface Authority {
  readonly server: OAuth2Server;
  readonly tokenUrl: string;
  /** Token requests, in order: grant type, the refresh token sent, how the client authenticated. */
  readonly calls: { grant: string; refreshToken?: string; basic: boolean; scope?: string; audience?: string }[];
  /** Access token → fake time it was issued. */
  readonly issued: Map<string, number>;
  /** Refresh tokens the authority accepts (each once: strict rotation). */
  readonly validRefresh: Set<string>;
  /** Order of observable effects across the authority, the API and the store. */
  readonly log: string[];
}

let authority: Authority;
let clock: FakeClock;

beforeEach(async () => {
  clock = new FakeClock({ now: NOW });
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  authority = { server, tokenUrl: `${server.issuer.url!}/token`, calls: [], issued: new Map(), validRefresh: new Set(['rt-initial']), log: [] };
  server.service.on(Events.BeforeResponse, (response: { body: Record<string, unknown> | string; statusCode: number }, req: { body: Record<string, string>; headers: Record<string, string | undefined> }) => {
    const body = req.body;
    authority.calls.push({
      grant: body['grant_type']!,
      basic: (req.headers['authorization'] ?? '').startsWith('Basic '),
      ...(body['refresh_token'] === undefined ? {} : { refreshToken: body['refresh_token'] }),
      ...(body['scope'] === undefined ? {} : { scope: body['scope'] }),
      ...(body['audience'] === undefined ? {} : { audience: body['audience'] }),
    });
    if (typeof response.body !== 'object') return;
    if (body['grant_type'] === 'refresh_token') {
      const presented = body['refresh_token']!;
      if (!authority.validRefresh.has(presented)) {
        response.statusCode = 400;
        response.body = { error: 'invalid_grant', error_description: 'refresh token unknown, expired or already used' };
        return;
      }
      authority.validRefresh.delete(presented);
      authority.validRefresh.add(response.body['refresh_token'] as string);
      authority.log.push(`issue ${String(response.body['refresh_token'])}`);
    }
    // Short-lived tokens: two seconds of fake time.
    response.body['expires_in'] = 2;
    authority.issued.set(response.body['access_token'] as string, clock.now());
  });
});

afterEach(async () => {
  await authority.server.stop();
});

/**
 * An API that accepts a token for two seconds of fake time after it was issued, else answers 401.
 * With `holdRejected: n`, the first n rejections are held and answered together (a true burst).
 */
async function protectedApi(options: { readonly holdRejected?: number } = {}): Promise<LocalServer & { rejected: () => number }> {
  let rejected = 0;
  const held: (() => void)[] = [];
  const server = await startServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const issuedAt = token === undefined ? undefined : authority.issued.get(token);
    if (issuedAt === undefined || clock.now() >= issuedAt + 2_000) {
      rejected++;
      held.push(() => json(res, 401, { error: 'invalid_token' }));
      if (rejected >= (options.holdRejected ?? 0)) for (const answer of held.splice(0)) answer();
      return;
    }
    authority.log.push(`use ${token!.slice(-8)}`);
    json(res, 200, { ok: true });
  });
  servers.push(server);
  return Object.assign(server, { rejected: () => rejected });
}

const tokenCalls = (): number => authority.calls.length;

describe('oauth2ClientCredentials', () => {
  function provider(extra: Partial<Parameters<typeof oauth2ClientCredentials>[0]> = {}): AuthProvider {
    return oauth2ClientCredentials({ tokenUrl: authority.tokenUrl, clientId: 'shop-sync', clientSecret: 'cs-1', clock, skewMs: 30_000, retry: noWait(3), ...extra });
  }

  it('gets a token (Basic client auth, scope and audience sent) and the API accepts it', async () => {
    const api = await protectedApi();
    const client = httpClient({ baseUrl: api.url, auth: provider({ scope: ['invoices:read', 'invoices:write'], audience: 'https://api.example' }) });
    await client.request({ path: '/invoices' });
    expect(authority.calls).toEqual([{ grant: 'client_credentials', basic: true, scope: 'invoices:read invoices:write', audience: 'https://api.example' }]);
    expect(api.rejected()).toBe(0);
  });

  it('with short-lived (2 s) tokens over a long run, renews before expiry: never a 401, one token per second of use', async () => {
    const api = await protectedApi();
    const client = httpClient({ baseUrl: api.url, auth: provider() });
    // 40 requests over 10 s of fake time. The 30 s skew is capped at half the 2 s lifetime.
    for (let i = 0; i < 40; i++) {
      await client.request({ path: '/invoices' });
      await clock.advance(250);
    }
    expect(api.rejected()).toBe(0);
    expect(tokenCalls()).toBe(10);
  });

  it('single-flight: 50 concurrent requests on an expired token make exactly one token request', async () => {
    const api = await protectedApi();
    const client = httpClient({ baseUrl: api.url, auth: provider() });
    await client.request({ path: '/warm-up' });
    expect(tokenCalls()).toBe(1);
    await clock.advance(3_000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.request({ path: `/invoices/${i}` })));
    expect(tokenCalls()).toBe(2);
    expect(api.rejected()).toBe(0);
    expect(api.seen).toHaveLength(51);
  });

  it('a burst of 401s (token revoked early) renews once and replays each request once', async () => {
    const api = await protectedApi({ holdRejected: 50 });
    const client = httpClient({ baseUrl: api.url, auth: provider() });
    await client.request({ path: '/warm-up' });
    authority.issued.clear(); // the API forgets every token
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.request({ path: `/invoices/${i}` })));
    expect(tokenCalls()).toBe(2);
    expect(api.rejected()).toBe(50);
    expect(api.seen).toHaveLength(101);
  });

  it('retries a token endpoint that answers 503 under the policy', async () => {
    let outages = 2;
    authority.server.service.on(Events.BeforeResponse, (response: { body: unknown; statusCode: number }) => {
      if (outages-- > 0) {
        response.statusCode = 503;
        response.body = { error: 'temporarily_unavailable' };
      }
    });
    const api = await protectedApi();
    await httpClient({ baseUrl: api.url, auth: provider() }).request({ path: '/invoices' });
    expect(tokenCalls()).toBe(3);
  });

  it('invalid_client is a fatal OAuth2TokenError naming the options to fix, made once, never retried', async () => {
    authority.server.service.on(Events.BeforeResponse, (response: { body: unknown; statusCode: number }) => {
      response.statusCode = 401;
      response.body = { error: 'invalid_client', error_description: 'client authentication failed' };
    });
    const api = await protectedApi();
    const error = await failure(httpClient({ baseUrl: api.url, auth: provider(), retry: noWait(5) }).request({ path: '/invoices' }));
    expect(error).toBeInstanceOf(OAuth2TokenError);
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ oauthError: 'invalid_client', status: 401, errorClass: 'fatal' });
    expect(error.message).toContain('`clientSecret`');
    expect(error.message).not.toContain('cs-1');
    expect(tokenCalls()).toBe(1);
    expect(api.seen).toHaveLength(0);
  });

  it('sends client_id and client_secret in the body with clientAuth: "body"', async () => {
    const api = await protectedApi();
    await httpClient({ baseUrl: api.url, auth: provider({ clientAuth: 'body' }) }).request({ path: '/invoices' });
    expect(authority.calls[0]).toMatchObject({ basic: false });
  });

  it.each([
    [{ tokenUrl: 'ftp://auth.example.com/token' }, 'oauth2ClientCredentials.tokenUrl'],
    [{ clientSecret: '' }, 'oauth2ClientCredentials.clientSecret'],
    [{ skewMs: -1 }, 'oauth2ClientCredentials.skewMs'],
    [{ scope: ['a b'] }, 'oauth2ClientCredentials.scope'],
    [{ clientAuth: 'jwt' }, 'oauth2ClientCredentials.clientAuth'],
  ])('rejects bad options %j', (bad, path) => {
    const make = () => oauth2ClientCredentials({ tokenUrl: 'https://auth.example.com/token', clientId: 'c', clientSecret: 's', ...(bad as object) });
    expect(make).toThrow(InvalidOptionsError);
    expect(make).toThrow(path);
  });
});

describe('oauth2RefreshToken', () => {
  /** A store that logs writes into the shared effect log, and can fail on cue. */
  function loggingStore(failSets = 0): KeyValueStore & { sets: () => number } {
    const inner = new MemoryKeyValueStore({ clock });
    let sets = 0;
    return {
      get: (ns, key, signal) => inner.get(ns, key, signal),
      delete: (ns, key, signal) => inner.delete(ns, key, signal),
      list: (ns, options, signal) => inner.list(ns, options, signal),
      set: async (ns, key, value, options, signal) => {
        sets++;
        if (failSets-- > 0) throw new Error('store unavailable');
        const result = await inner.set(ns, key, value, options, signal);
        if (result.ok) authority.log.push(`persist ${String((value as { refreshToken: string }).refreshToken)}`);
        return result;
      },
      sets: () => sets,
    };
  }

  function provider(store: KeyValueStore, extra: Partial<Parameters<typeof oauth2RefreshToken>[0]> = {}): AuthProvider {
    return oauth2RefreshToken({
      tokenUrl: authority.tokenUrl,
      clientId: 'crm-sync',
      clientSecret: 'cs-2',
      refreshToken: 'rt-initial',
      store,
      storeKey: 'crm',
      clock,
      retry: noWait(3),
      ...extra,
    });
  }

  async function storedRefreshToken(store: KeyValueStore): Promise<string | undefined> {
    return ((await store.get(OAUTH2_KV_NAMESPACE, 'crm'))?.value as { refreshToken?: string } | undefined)?.refreshToken;
  }

  it('persists each rotated refresh token before the new access token is used, across a long run of 2 s tokens', async () => {
    const api = await protectedApi();
    const store = loggingStore();
    const client = httpClient({ baseUrl: api.url, auth: provider(store) });
    for (let i = 0; i < 24; i++) {
      await client.request({ path: '/contacts' });
      await clock.advance(500);
    }
    expect(api.rejected()).toBe(0);
    // 12 s of fake time, renewed once a second (the skew is capped at half the 2 s lifetime).
    expect(tokenCalls()).toBe(12);
    expect(authority.calls.map((c) => c.grant)).toEqual(Array(12).fill('refresh_token'));
    // Every exchange presented the token of the previous one (strict rotation), and the store holds the last.
    expect(authority.calls[0]!.refreshToken).toBe('rt-initial');
    const issuedTokens = authority.log.filter((e) => e.startsWith('issue ')).map((e) => e.slice(6));
    expect(authority.calls.slice(1).map((c) => c.refreshToken)).toEqual(issuedTokens.slice(0, -1));
    expect(await storedRefreshToken(store)).toBe(issuedTokens.at(-1));
    // Effects in order: issue Rn, persist Rn, then the API sees the new access token.
    const kinds = authority.log.map((e) => e.split(' ')[0]);
    for (let i = 0; i < kinds.length; i++) {
      if (kinds[i] === 'issue') expect(kinds.slice(i + 1, i + 3)).toEqual(['persist', 'use']);
    }
  });

  it('single-flight: 50 concurrent requests on an expired token make one token request and one rotation', async () => {
    const api = await protectedApi();
    const store = loggingStore();
    const client = httpClient({ baseUrl: api.url, auth: provider(store) });
    await client.request({ path: '/warm-up' });
    await clock.advance(5_000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.request({ path: `/contacts/${i}` })));
    expect(tokenCalls()).toBe(2);
    expect(store.sets()).toBe(2);
    expect(api.rejected()).toBe(0);
  });

  it('a second runner sharing the store follows the rotation instead of presenting a used refresh token', async () => {
    const api = await protectedApi();
    const store = loggingStore();
    await httpClient({ baseUrl: api.url, auth: provider(store) }).request({ path: '/a' });
    await httpClient({ baseUrl: api.url, auth: provider(store) }).request({ path: '/b' });
    expect(authority.calls.map((c) => c.refreshToken)).toEqual(['rt-initial', authority.log.find((e) => e.startsWith('issue '))!.slice(6)]);
    expect(api.rejected()).toBe(0);
  });

  it('when the stored token is refused, the configured (re-authorized) one takes over and replaces it', async () => {
    const api = await protectedApi();
    const store = loggingStore();
    await store.set(OAUTH2_KV_NAMESPACE, 'crm', { refreshToken: 'rt-revoked' });
    authority.validRefresh.clear();
    authority.validRefresh.add('rt-reauthorized');
    await httpClient({ baseUrl: api.url, auth: provider(store, { refreshToken: 'rt-reauthorized' }) }).request({ path: '/a' });
    expect(authority.calls.map((c) => c.refreshToken)).toEqual(['rt-revoked', 'rt-reauthorized']);
    expect(await storedRefreshToken(store)).toBe(authority.log.find((e) => e.startsWith('issue '))!.slice(6));
  });

  it('invalid_grant is fatal with an actionable message, never a retry loop', async () => {
    const api = await protectedApi();
    const store = loggingStore();
    authority.validRefresh.clear();
    const client = httpClient({ baseUrl: api.url, auth: provider(store, { retry: noWait(10) }), retry: noWait(10) });
    const error = await failure(client.request({ path: '/contacts' }));
    expect(error).toBeInstanceOf(OAuth2TokenError);
    expect(error).toMatchObject({ oauthError: 'invalid_grant', errorClass: 'fatal', status: 400 });
    expect(error.message).toContain('Re-authorize');
    expect(error.message).toContain('`refreshToken`');
    expect(error.message).toContain(`${OAUTH2_KV_NAMESPACE}/crm`);
    expect(error.message).not.toContain('rt-initial');
    expect(error.message).not.toContain('cs-2');
    expect(tokenCalls()).toBe(1);
    expect(api.seen).toHaveLength(0);
  });

  it('a failed store write holds the new access token back and retries the write, not the exchange', async () => {
    const api = await protectedApi();
    const store = loggingStore(1);
    await httpClient({ baseUrl: api.url, auth: provider(store) }).request({ path: '/contacts' });
    expect(tokenCalls()).toBe(1);
    expect(store.sets()).toBe(2);
    expect(authority.log.map((e) => e.split(' ')[0])).toEqual(['issue', 'persist', 'use']);
  });

  it('a store that stays down stops the run after the policy, without using the unstored token', async () => {
    const api = await protectedApi();
    const store = loggingStore(100);
    const error = await failure(httpClient({ baseUrl: api.url, auth: provider(store) }).request({ path: '/contacts' }));
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error.message).toContain(`${OAUTH2_KV_NAMESPACE}/crm`);
    expect(tokenCalls()).toBe(1);
    expect(api.seen).toHaveLength(0);
  });
});

describe('httpClient with OAuth2 and a 401 from the API', () => {
  it('refresh-token flow: a token revoked early is renewed once and the request replayed', async () => {
    const api = await protectedApi();
    const store = new MemoryKeyValueStore({ clock });
    const client: HttpClient = httpClient({
      baseUrl: api.url,
      auth: oauth2RefreshToken({ tokenUrl: authority.tokenUrl, clientId: 'c', refreshToken: 'rt-initial', store, storeKey: 'crm', clock, retry: noWait(2) }),
    });
    await client.request({ path: '/a' });
    authority.issued.clear();
    await client.request({ path: '/b' });
    expect(tokenCalls()).toBe(2);
    // A public client (no secret) sends client_id in the body.
    expect(authority.calls.every((c) => !c.basic)).toBe(true);
    expect(api.seen.map((r) => r.url)).toEqual(['/a', '/b', '/b']);
  });
});

describe('OAuth2 across a pipeline run with short-lived tokens', () => {
  /** A sink that POSTs each record; each batch takes 700 ms of (fake) time, so tokens lapse mid-run. */
  function invoiceSink(client: HttpClient): Sink<{ n: number }> {
    return {
      name: 'invoices',
      async write(records, ctx) {
        await Promise.all(
          records.map((record) => client.request({ method: 'POST', path: '/invoices', json: record.data, idempotencyKey: record.idempotencyKey, signal: ctx.signal })),
        );
        await clock.advance(700);
      },
    };
  }
  const records = Array.from({ length: 200 }, (_, n) => ({ key: `o${n}`, data: { n } }));

  it.each(['client credentials', 'refresh token'] as const)('%s: 200 records in 20 batches over 14 s, 2 s tokens renewed ahead, never a 401', async (flow) => {
    const api = await protectedApi();
    const stores = memoryStores();
    const auth =
      flow === 'client credentials'
        ? oauth2ClientCredentials({ tokenUrl: authority.tokenUrl, clientId: 'c', clientSecret: 's', clock, retry: noWait(3) })
        : oauth2RefreshToken({ tokenUrl: authority.tokenUrl, clientId: 'c', refreshToken: 'rt-initial', store: stores.kv, storeKey: 'crm', clock, retry: noWait(3) });
    const client = httpClient({ baseUrl: api.url, auth, retry: noWait(3) });
    const summary = await pipeline({ id: `oauth-${flow.replace(' ', '-')}`, source: memorySource(records, { pageSize: 10 }), stores, batch: { size: 10 } })
      .to(invoiceSink(client))
      .run();
    expect(summary).toMatchObject({ status: 'completed', read: 200, written: 200, deadLettered: 0 });
    expect(api.rejected()).toBe(0);
    expect(api.seen).toHaveLength(200);
    // A token lives 2 s and is renewed after 1 s; batches start every 0.7 s: one renewal every other batch.
    expect(tokenCalls()).toBe(10);
    if (flow === 'refresh token') {
      const issuedTokens = authority.log.filter((e) => e.startsWith('issue ')).map((e) => e.slice(6));
      expect(issuedTokens).toHaveLength(10);
      expect(((await stores.kv.get(OAUTH2_KV_NAMESPACE, 'crm'))?.value as { refreshToken: string }).refreshToken).toBe(issuedTokens.at(-1));
    }
  });
});
