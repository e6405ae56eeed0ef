/**
 * Every public factory and constructor refuses an option it does not know (naming the key and the
 * known one it is closest to) and a value of the wrong type (saying what was expected), with
 * `InvalidOptionsError`, before it does anything. One row per factory; `pipeline()` is tested with the
 * runner.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineSink,
  defineSource,
  InvalidOptionsError,
  iterableSource,
  jsonlAuditStore,
  memorySink,
  MemoryCheckpointStore,
  MemoryKeyValueStore,
  MemorySource,
  memorySource,
  memoryStores,
  pipeline,
  RateLimiterRegistry,
  rateLimiter,
  retryPolicy,
  sharedRateLimiter,
} from 'syncline';
import { FakeClock, faultServer, flakySink, FlakySink, resetSharedRateLimiters, runPipeline } from 'syncline/testing';
import { describeCheckpointStore } from 'syncline/testing/conformance';
import { sqliteStores } from 'syncline/sqlite';
import { PostgresAuditStore, PostgresCheckpointStore, PostgresDeadLetterStore, PostgresInboxStore, PostgresKeyValueStore, postgresSink, postgresStores } from 'syncline/postgres';
import { connectRedisStores, RedisCheckpointStore, RedisInboxStore, RedisKeyValueStore, redisRateLimiter, redisStores } from 'syncline/redis';
import {
  apiKeyAuth,
  basicAuth,
  bearerAuth,
  cursorPagination,
  httpClient,
  httpSink,
  httpSource,
  linkPagination,
  oauth2ClientCredentials,
  oauth2RefreshToken,
  offsetPagination,
  pagePagination,
} from 'syncline/http';
import {
  githubSignature,
  hmacSignature,
  inboxSource,
  shopifySignature,
  signHmacWebhook,
  standardWebhooks,
  stripeSignature,
  WebhookIntake,
  webhookIntake,
} from 'syncline/webhooks';

type Options = Record<string, unknown>;

interface Row {
  /** How the message names the options object, e.g. `memorySource` or `options`. */
  readonly where: string;
  /** Calls the factory with `options` (a valid base with one change). */
  readonly call: (options: Options) => unknown;
  /** Options the factory accepts. */
  readonly valid: Options;
  /**
   * A misspelt key (replacing the right one when `valid` has it), its value, and the key it should
   * suggest. With `at`, the misspelling is inside the nested options object `value` given as `at`.
   */
  readonly misspelt: { readonly key: string; readonly value: unknown; readonly suggests: string; readonly at?: string };
  /** The valid call has effects the test cannot undo here (connects, declares tests): not made. */
  readonly skipValid?: true;
  /** A wrong-typed value and the words of the expectation. */
  readonly wrongType: { readonly key: string; readonly value: unknown; readonly expected: RegExp };
}

const noop = (): void => undefined;
const pool = { query: async () => ({ rows: [], rowCount: 0 }), connect: async () => ({ query: async () => ({ rows: [] }), release: noop }) };
const redis = { eval: async () => null, evalsha: async () => null, duplicate: () => redis };
const client = httpClient({ baseUrl: 'http://127.0.0.1:1' });
const stores = memoryStores();
const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const numbers = defineSource({ name: 'numbers', config: z.strictObject({ upTo: z.number() }), cursor: z.object({ n: z.number() }), read: async function* () {} });
const ledger = defineSink({ name: 'ledger', config: z.strictObject({}), write: async () => undefined });
const sourceDefinition = { name: 'numbers', config: z.object({}), cursor: z.object({ n: z.number() }), read: async function* () {} };
const intakeOptions = { inbox: stores.inbox, name: 'payments', verifier: standardWebhooks({ secrets: whsec }) };
const tinyPipeline = pipeline({ id: 'strict-options', source: memorySource([]), stores: memoryStores() }).to(memorySink());

const rows: Record<string, Row> = {
  // syncline
  memorySource: { where: 'memorySource', call: (o) => memorySource([], o), valid: { pageSize: 10 }, misspelt: { key: 'pageSise', value: 10, suggests: 'pageSize' }, wrongType: { key: 'pageSize', value: 'ten', expected: /to be a number/ } },
  'new MemorySource': { where: 'memorySource', call: (o) => new MemorySource([], o), valid: {}, misspelt: { key: 'nmae', value: 'x', suggests: 'name' }, wrongType: { key: 'name', value: 5, expected: /to be a string/ } },
  iterableSource: { where: 'iterableSource', call: (o) => iterableSource(() => [], o), valid: {}, misspelt: { key: 'page_size', value: 5, suggests: 'pageSize' }, wrongType: { key: 'pageSize', value: 0, expected: /≥ 1/ } },
  defineSource: { where: 'defineSource', call: (o) => defineSource(o as never), valid: sourceDefinition, misspelt: { key: 'clsoe', value: noop, suggests: 'close' }, wrongType: { key: 'read', value: 5, expected: /to be a function/ } },
  'defineSource()(config, options)': { where: 'numbers(config, options)', call: (o) => numbers({ upTo: 3 }, o), valid: {}, misspelt: { key: 'nmae', value: 'n', suggests: 'name' }, wrongType: { key: 'name', value: 5, expected: /to be a string/ } },
  defineSink: { where: 'defineSink', call: (o) => defineSink(o as never), valid: { name: 'ledger', config: z.object({}), write: async () => undefined }, misspelt: { key: 'wirte', value: noop, suggests: 'write' }, wrongType: { key: 'config', value: {}, expected: /to be a zod schema/ } },
  'defineSink()(config, options)': { where: 'ledger(config, options)', call: (o) => ledger({}, o), valid: {}, misspelt: { key: 'naem', value: 'l', suggests: 'name' }, wrongType: { key: 'name', value: 1, expected: /to be a string/ } },
  retryPolicy: { where: 'retry', call: (o) => retryPolicy(o), valid: {}, misspelt: { key: 'atempts', value: 3, suggests: 'attempts' }, wrongType: { key: 'attempts', value: '3', expected: /to be an integer/ } },
  rateLimiter: { where: 'rateLimit', call: (o) => rateLimiter(o as never), valid: { name: 'strict-a', rate: { limit: 5, intervalMs: 1000 } }, misspelt: { key: 'requestsPerSecnd', value: 5, suggests: 'requestsPerSecond' }, wrongType: { key: 'maxConcurrent', value: 'two', expected: /to be an integer|to be a number/ } },
  'rateLimiter nested rate': { where: 'rateLimit', call: (o) => rateLimiter(o as never), valid: { name: 'strict-b' }, misspelt: { at: 'rate', key: 'intervalMS', value: { limit: 5, intervalMS: 1000 }, suggests: 'intervalMs' }, wrongType: { key: 'rate', value: 5, expected: /to be an object/ } },
  sharedRateLimiter: { where: 'rateLimit', call: (o) => sharedRateLimiter(o as never), valid: { name: 'strict-c' }, misspelt: { key: 'maxConcurent', value: 2, suggests: 'maxConcurrent' }, wrongType: { key: 'minTimeMs', value: '5', expected: /to be a number/ } },
  'RateLimiterRegistry.get': { where: 'rateLimit', call: (o) => new RateLimiterRegistry().get(o as never), valid: { name: 'strict-d' }, misspelt: { key: 'permitBach', value: 1, suggests: 'permitBatch' }, wrongType: { key: 'name', value: 7, expected: /to be a string/ } },
  jsonlAuditStore: { where: 'options', call: (o) => jsonlAuditStore(o as never), valid: { path: '/tmp/syncline-strict-options.jsonl' }, misspelt: { key: 'maxFile', value: 2, suggests: 'maxFiles' }, wrongType: { key: 'fsync', value: 'yes', expected: /to be a boolean/ } },
  memoryStores: { where: 'options', call: (o) => memoryStores(o), valid: {}, misspelt: { key: 'clokc', value: new FakeClock(), suggests: 'clock' }, wrongType: { key: 'clock', value: Date, expected: /to be a Clock/ } },
  'new MemoryCheckpointStore': { where: 'options', call: (o) => new MemoryCheckpointStore(o), valid: {}, misspelt: { key: 'clok', value: new FakeClock(), suggests: 'clock' }, wrongType: { key: 'clock', value: 1, expected: /to be a Clock/ } },
  'new MemoryKeyValueStore': { where: 'options', call: (o) => new MemoryKeyValueStore(o), valid: {}, misspelt: { key: 'Clock', value: new FakeClock(), suggests: 'clock' }, wrongType: { key: 'clock', value: {}, expected: /to be a Clock/ } },

  // syncline/testing
  'new FakeClock': { where: 'FakeClock', call: (o) => new FakeClock(o), valid: { now: 5 }, misspelt: { key: 'nwo', value: 5, suggests: 'now' }, wrongType: { key: 'now', value: '2026-01-01', expected: /to be a number/ } },
  flakySink: { where: 'flakySink', call: (o) => flakySink(o), valid: {}, misspelt: { key: 'failFrist', value: 2, suggests: 'failFirst' }, wrongType: { key: 'failKeys', value: '13', expected: /to be an array/ } },
  'new FlakySink': { where: 'flakySink', call: (o) => new FlakySink(o), valid: {}, misspelt: { key: 'retryAfter', value: 5, suggests: 'retryAfterMs' }, wrongType: { key: 'flakyKeys', value: ['a'], expected: /to be a record|to be an object/ } },
  runPipeline: { where: 'runPipeline', call: (o) => runPipeline(tinyPipeline, o), valid: {}, misspelt: { key: 'maxClockStep', value: 5, suggests: 'maxClockSteps' }, wrongType: { key: 'signal', value: 'stop', expected: /to be an AbortSignal/ } },
  faultServer: { where: 'faultServer', call: (o) => faultServer(o as never), valid: { handler: () => new Response('ok') }, misspelt: { key: 'scirpt', value: [], suggests: 'script' }, wrongType: { key: 'handler', value: 'ok', expected: /to be a function/ } },
  describeCheckpointStore: { skipValid: true, where: 'describeCheckpointStore', call: (o) => describeCheckpointStore('strict', async () => ({ store: new MemoryCheckpointStore() }), o), valid: {}, misspelt: { key: 'modelRun', value: 5, suggests: 'modelRuns' }, wrongType: { key: 'modelRuns', value: 'many', expected: /to be an integer|to be a number/ } },

  // syncline/sqlite
  sqliteStores: { where: 'options', call: (o) => sqliteStores(o as never), valid: { path: ':memory:' }, misspelt: { key: 'busyTimeout', value: 5, suggests: 'busyTimeoutMs' }, wrongType: { key: 'synchronous', value: true, expected: /to be one of "normal", "full"/ } },

  // syncline/postgres
  postgresStores: { where: 'options', call: (o) => postgresStores(o as never), valid: { pool }, misspelt: { key: 'shema', value: 'app', suggests: 'schema' }, wrongType: { key: 'autoMigrate', value: 'no', expected: /to be a boolean/ } },
  'new PostgresCheckpointStore': { where: 'options', call: (o) => new PostgresCheckpointStore(o as never), valid: { pool }, misspelt: { key: 'autoMigarte', value: false, suggests: 'autoMigrate' }, wrongType: { key: 'pool', value: 'postgres://x', expected: /to be a pool/ } },
  'new PostgresDeadLetterStore': { where: 'options', call: (o) => new PostgresDeadLetterStore(o as never), valid: { pool }, misspelt: { key: 'preparedStatement', value: false, suggests: 'preparedStatements' }, wrongType: { key: 'schema', value: 'App', expected: /lower-case PostgreSQL identifier/ } },
  'new PostgresAuditStore': { where: 'options', call: (o) => new PostgresAuditStore(o as never), valid: { pool }, misspelt: { key: 'pol', value: pool, suggests: 'pool' }, wrongType: { key: 'clock', value: 1, expected: /to be a Clock/ } },
  'new PostgresKeyValueStore': { where: 'options', call: (o) => new PostgresKeyValueStore(o as never), valid: { pool }, misspelt: { key: 'clok', value: new FakeClock(), suggests: 'clock' }, wrongType: { key: 'preparedStatements', value: 1, expected: /to be a boolean/ } },
  'new PostgresInboxStore': { where: 'options', call: (o) => new PostgresInboxStore(o as never), valid: { pool }, misspelt: { key: 'schem', value: 'app', suggests: 'schema' }, wrongType: { key: 'autoMigrate', value: null, expected: /to be a boolean/ } },
  postgresSink: { where: 'options', call: (o) => postgresSink(o as never), valid: { pool, write: async () => undefined }, misspelt: { key: 'nme', value: 'ledger', suggests: 'name' }, wrongType: { key: 'write', value: 'INSERT', expected: /to be a function/ } },

  // syncline/redis
  redisStores: { where: 'options', call: (o) => redisStores(o as never), valid: { client: redis }, misspelt: { key: 'keyPrefx', value: 'x:', suggests: 'keyPrefix' }, wrongType: { key: 'client', value: 'redis://127.0.0.1', expected: /to be a Redis client/ } },
  'new RedisCheckpointStore': { where: 'options', call: (o) => new RedisCheckpointStore(o as never), valid: { client: redis }, misspelt: { key: 'prefix', value: 'x:', suggests: 'keyPrefix' }, wrongType: { key: 'keyPrefix', value: 1, expected: /to be a string/ } },
  'new RedisKeyValueStore': { where: 'options', call: (o) => new RedisKeyValueStore(o as never), valid: { client: redis }, misspelt: { key: 'clinet', value: redis, suggests: 'client' }, wrongType: { key: 'clock', value: true, expected: /to be a Clock/ } },
  'new RedisInboxStore': { where: 'options', call: (o) => new RedisInboxStore(o as never), valid: { client: redis }, misspelt: { key: 'clokc', value: new FakeClock(), suggests: 'clock' }, wrongType: { key: 'keyPrefix', value: [], expected: /to be a string/ } },
  connectRedisStores: { skipValid: true, where: 'options', call: (o) => connectRedisStores(o as never), valid: { url: 'redis://127.0.0.1:1' }, misspelt: { key: 'keyprefix', value: 'x:', suggests: 'keyPrefix' }, wrongType: { key: 'url', value: 6379, expected: /to be a string|redis:\/\// } },
  redisRateLimiter: { skipValid: true, where: 'rateLimit', call: (o) => redisRateLimiter(o as never), valid: { name: 'strict-r', client: redis }, misspelt: { key: 'sharePause', value: true, suggests: 'sharePauses' }, wrongType: { key: 'heartbeatIntervalMs', value: '1s', expected: /to be a number/ } },

  // syncline/http
  httpClient: { where: 'httpClient', call: (o) => httpClient(o as never), valid: { baseUrl: 'http://127.0.0.1:1' }, misspelt: { key: 'timeotMs', value: 5, suggests: 'timeoutMs' }, wrongType: { key: 'maxRedirects', value: 'none', expected: /to be an integer|to be a number/ } },
  'httpClient nested retry': { where: 'httpClient', call: (o) => httpClient(o as never), valid: { baseUrl: 'http://127.0.0.1:1' }, misspelt: { at: 'retry', key: 'atempts', value: { atempts: 2 }, suggests: 'attempts' }, wrongType: { key: 'retry', value: 3, expected: /RetryPolicy/ } },
  apiKeyAuth: { where: 'apiKeyAuth', call: (o) => apiKeyAuth(o as never), valid: { key: 'k-123' }, misspelt: { key: 'headr', value: 'X-Key', suggests: 'header' }, wrongType: { key: 'query', value: 1, expected: /to be a string/ } },
  bearerAuth: { where: 'bearerAuth', call: (o) => bearerAuth(o as never), valid: { token: 't-123' }, misspelt: { key: 'tokne', value: 't-123', suggests: 'token' }, wrongType: { key: 'getToken', value: 't-123', expected: /to be a function/ } },
  basicAuth: { where: 'basicAuth', call: (o) => basicAuth(o as never), valid: { username: 'u', password: 'p' }, misspelt: { key: 'usernme', value: 'u', suggests: 'username' }, wrongType: { key: 'username', value: 7, expected: /to be a string/ } },
  oauth2ClientCredentials: { where: 'oauth2ClientCredentials', call: (o) => oauth2ClientCredentials(o as never), valid: { tokenUrl: 'https://auth.example/token', clientId: 'c', clientSecret: 's' }, misspelt: { key: 'scpoe', value: 'read', suggests: 'scope' }, wrongType: { key: 'skewMs', value: '30s', expected: /to be an integer|to be a number/ } },
  'oauth2ClientCredentials nested retry': { where: 'oauth2ClientCredentials', call: (o) => oauth2ClientCredentials(o as never), valid: { tokenUrl: 'https://auth.example/token', clientId: 'c', clientSecret: 's' }, misspelt: { at: 'retry', key: 'maxDelay', value: { maxDelay: 5 }, suggests: 'maxDelayMs' }, wrongType: { key: 'retry', value: 'twice', expected: /RetryPolicy/ } },
  oauth2RefreshToken: { where: 'oauth2RefreshToken', call: (o) => oauth2RefreshToken(o as never), valid: { tokenUrl: 'https://auth.example/token', clientId: 'c', refreshToken: 'r', store: stores.kv, storeKey: 'crm' }, misspelt: { key: 'storekey', value: 'crm', suggests: 'storeKey' }, wrongType: { key: 'store', value: 'kv', expected: /to be a KeyValueStore/ } },
  httpSource: { where: 'httpSource', call: (o) => httpSource(o as never), valid: { name: 'orders', client, request: () => ({ path: '/orders' }), body: z.array(z.unknown()), records: (b: unknown[]) => b, key: () => '1', pagination: linkPagination() }, misspelt: { key: 'maxPage', value: 5, suggests: 'maxPages' }, wrongType: { key: 'body', value: 'json', expected: /to be a zod schema/ } },
  'httpSource nested incremental': { where: 'httpSource', call: (o) => httpSource(o as never), valid: { name: 'orders', client, request: () => ({ path: '/orders' }), body: z.array(z.unknown()), records: (b: unknown[]) => b, key: () => '1', pagination: linkPagination() }, misspelt: { at: 'incremental', key: 'intial', value: { updatedAt: () => 1, intial: 0 }, suggests: 'initial' }, wrongType: { key: 'incremental', value: { updatedAt: 'updated_at' }, expected: /to be a function/ } },
  httpSink: { where: 'httpSink', call: (o) => httpSink(o as never), valid: { name: 'invoices', client, path: '/invoices' }, misspelt: { key: 'concurency', value: 8, suggests: 'concurrency' }, wrongType: { key: 'concurrency', value: 'eight', expected: /to be a number|to be an integer/ } },
  'httpSink batch mode': { where: 'httpSink', call: (o) => httpSink(o as never), valid: { name: 'invoices', client, path: '/invoices', mode: 'batch' }, misspelt: { key: 'idempotencyKye', value: false, suggests: 'idempotencyKey' }, wrongType: { key: 'results', value: [], expected: /to be a function/ } },
  linkPagination: { where: 'linkPagination', call: (o) => linkPagination(o), valid: {}, misspelt: { key: 'rell', value: 'next', suggests: 'rel' }, wrongType: { key: 'rel', value: 1, expected: /to be a string/ } },
  cursorPagination: { where: 'cursorPagination', call: (o) => cursorPagination(o as never), valid: { param: 'cursor', nextPath: 'next' }, misspelt: { key: 'nextHeder', value: 'x-next', suggests: 'nextHeader' }, wrongType: { key: 'param', value: 1, expected: /to be a string/ } },
  offsetPagination: { where: 'offsetPagination', call: (o) => offsetPagination(o as never), valid: { limit: 50 }, misspelt: { key: 'offsetParm', value: 'skip', suggests: 'offsetParam' }, wrongType: { key: 'hasMore', value: true, expected: /to be a function/ } },
  pagePagination: { where: 'pagePagination', call: (o) => pagePagination(o as never), valid: { size: 50 }, misspelt: { key: 'pageParm', value: 'p', suggests: 'pageParam' }, wrongType: { key: 'first', value: '1', expected: /to be a number/ } },

  // syncline/webhooks
  webhookIntake: { where: 'webhookIntake', call: (o) => webhookIntake(o as never), valid: intakeOptions, misspelt: { key: 'maxBodyByte', value: 1024, suggests: 'maxBodyBytes' }, wrongType: { key: 'verifier', value: 'stripe', expected: /to be a WebhookVerifier/ } },
  'new WebhookIntake': { where: 'webhookIntake', call: (o) => new WebhookIntake(o as never), valid: intakeOptions, misspelt: { key: 'keepHeader', value: [], suggests: 'keepHeaders' }, wrongType: { key: 'auditDeliveries', value: 'yes', expected: /to be a boolean/ } },
  inboxSource: { where: 'inboxSource', call: (o) => inboxSource(o as never), valid: { inbox: stores.inbox, name: 'payments' }, misspelt: { key: 'pollInterval', value: 500, suggests: 'pollIntervalMs' }, wrongType: { key: 'key', value: 'id', expected: /to be a function/ } },
  standardWebhooks: { where: 'standardWebhooks', call: (o) => standardWebhooks(o as never), valid: { secrets: whsec }, misspelt: { key: 'toleranceSecond', value: 300, suggests: 'toleranceSeconds' }, wrongType: { key: 'clock', value: 'utc', expected: /to be a Clock/ } },
  'standardWebhooks secret': { where: 'standardWebhooks', call: (o) => standardWebhooks(o as never), valid: { secrets: whsec }, misspelt: { key: 'secret', value: whsec, suggests: 'secrets' }, wrongType: { key: 'toleranceSeconds', value: '5m', expected: /to be a number|seconds/ } },
  stripeSignature: { where: 'stripeSignature', call: (o) => stripeSignature(o as never), valid: { secrets: 'whsec_abc' }, misspelt: { key: 'tolerance', value: 300, suggests: 'toleranceSeconds' }, wrongType: { key: 'toleranceSeconds', value: true, expected: /to be a number|seconds/ } },
  shopifySignature: { where: 'shopifySignature', call: (o) => shopifySignature(o as never), valid: { secrets: 'shpss_abc' }, misspelt: { key: 'secret', value: 'shpss_abc', suggests: 'secrets' }, wrongType: { key: 'secrets', value: 5, expected: /to be the signing secret/ } },
  githubSignature: { where: 'githubSignature', call: (o) => githubSignature(o as never), valid: { secrets: 'gh-secret' }, misspelt: { key: 'secrts', value: 'gh-secret', suggests: 'secrets' }, wrongType: { key: 'secrets', value: [], expected: /non-empty array/ } },
  hmacSignature: { where: 'hmacSignature', call: (o) => hmacSignature(o as never), valid: { secrets: 's3cret', header: 'x-sig', algorithm: 'sha256', encoding: 'hex', idHeader: 'x-id' }, misspelt: { key: 'prefx', value: 'sha256=', suggests: 'prefix' }, wrongType: { key: 'algorithm', value: 256, expected: /to be one of "sha256", "sha512", "sha1"/ } },
  signHmacWebhook: { where: 'signHmacWebhook(secret, body, options)', call: (o) => signHmacWebhook('s3cret', '{}', o as never), valid: { algorithm: 'sha256', encoding: 'hex' }, misspelt: { key: 'timestmp', value: 1, suggests: 'timestamp' }, wrongType: { key: 'timestamp', value: '1', expected: /to be a number/ } },
};

/** What the call threw or rejected with. */
async function failureOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('strict options: every public factory', () => {
  for (const [name, row] of Object.entries(rows)) {
    describe(name, () => {
      it.skipIf(row.skipValid)('accepts its valid options', async () => {
        let made: unknown;
        expect(await failureOf(async () => (made = await row.call(row.valid)))).toBeUndefined();
        const closable = made as { close?: () => unknown; stop?: () => unknown } | undefined;
        await (closable?.close ?? closable?.stop)?.call(closable);
      });

      it('names a misspelt option and the one it is closest to', async () => {
        const { key, value, suggests, at } = row.misspelt;
        const options = { ...row.valid, [at ?? key]: value };
        if (at === undefined) delete options[suggests];
        const error = await failureOf(() => row.call(options));
        expect(error).toBeInstanceOf(InvalidOptionsError);
        const shown = at === undefined ? row.where : `${row.where}.${at}`;
        expect((error as Error).message).toMatch(new RegExp(`Expected \`${escape(shown)}\` to have no unknown option \\(\`${escape(key)}\`: did you mean \`${escape(suggests)}\`\\?`));
      });

      it('says what a wrong-typed option should be', async () => {
        const { key, value, expected } = row.wrongType;
        const error = await failureOf(() => row.call({ ...row.valid, [key]: value }));
        expect(error).toBeInstanceOf(InvalidOptionsError);
        const message = (error as Error).message;
        expect(message).toMatch(new RegExp(`Expected \`${escape(row.where)}\\.${escape(key)}[\`.]`));
        expect(message).toMatch(expected);
      });
    });
  }
});

describe('strict options: messages', () => {
  it('httpSink in batch mode suggests batch options, not per-record ones', async () => {
    const error = await failureOf(() => httpSink({ name: 's', client, path: '/p', mode: 'batch', result: () => [] } as never));
    expect((error as Error).message).toMatch(/`result`: did you mean `results`\?/);
    expect((error as Error).message).not.toMatch(/concurrency/);
  });

  it('apiKeyAuth names `key` when it is undefined (an unset environment variable)', () => {
    expect(() => apiKeyAuth({ key: undefined } as never)).toThrow(/Expected `apiKeyAuth\.key` to be .*, got undefined/);
  });

  it('apiKeyAuth refuses a key in a header and a query parameter at once', () => {
    expect(() => apiKeyAuth({ key: 'k', header: 'X-Key', query: 'key' } as never)).toThrow(/`apiKeyAuth\.query`.*not both/);
  });

  it('bearerAuth without a token says which options it takes', () => {
    expect(() => bearerAuth({} as never)).toThrow(/`token`.*`getToken`/);
  });

  it('never quotes a secret passed under a misspelt name', async () => {
    const error = await failureOf(() => standardWebhooks({ secret: whsec } as never));
    expect((error as Error).message).not.toContain('MfKQ9r8G');
    const key = await failureOf(() => apiKeyAuth({ key: 'canary-key-1234', heder: 'X' } as never));
    expect((key as Error).message).not.toContain('canary');
    const token = await failureOf(() => bearerAuth({ tokne: 'canary-token-1234' } as never));
    expect((token as Error).message).toMatch(/`tokne`: did you mean `token`\?/);
    expect((token as Error).message).not.toContain('canary');
  });
});

afterAll(() => resetSharedRateLimiters());
