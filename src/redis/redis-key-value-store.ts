import { FatalError } from '../errors/fatal-error.js';
import type { JsonValue } from '../model/json.js';
import type { KeyValueEntry, KeyValueSetOptions, KeyValueSetResult, KeyValueStore } from '../stores/key-value-store.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit, prepareKvSet } from '../internal/store-checks.js';
import { decodeKey, encodedPrefixRanges, encodeKey, type EncodedKeyRange } from '../internal/key-codec.js';
import { LuaScript } from './lua-script.js';
import { RedisKeyspace, type RedisStoreOptions } from './options.js';

// Per namespace, three keys sharing one Redis Cluster hash tag:
//   KEYS[1] hash  key -> "<version>:<expiresAt or empty>:<value JSON>"
//   KEYS[2] zset  every key at score 0, so ZRANGEBYLEX lists them in byte (= code point) order
//   KEYS[3] zset  keys with a TTL, scored by expiresAt, for sweeping expired entries
// Expiry is judged by the `now` the caller passes (its injected clock), so Redis's own TTLs are not used.
// Namespaces and keys are written through encodeKey: ioredis sends strings as UTF-8, which turns a lone
// surrogate into U+FFFD and would merge two keys; the encoding keeps code point order.
const entryParser = `
local function parse(raw)
  local a = string.find(raw, ':', 1, true)
  if not a then return nil end
  local b = string.find(raw, ':', a + 1, true)
  if not b then return nil end
  return tonumber(string.sub(raw, 1, a - 1)), string.sub(raw, a + 1, b - 1)
end
local function live(raw, now)
  local version, expires = parse(raw)
  if not version then return true end
  return expires == '' or tonumber(expires) > now
end
`;

// Removes up to 100 expired entries of the namespace per write, so TTL'd keys (dedup keys) do not pile up.
const sweep = `
local function sweep(now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)
  for i = 1, #gone do
    redis.call('HDEL', KEYS[1], gone[i])
    redis.call('ZREM', KEYS[2], gone[i])
    redis.call('ZREM', KEYS[3], gone[i])
  end
end
`;

// ARGV: key, now, ifVersion ('' for none), expiresAt ('' for none), value JSON.
// Replies {1, version} or {0, currentVersion}; {-1} when the stored entry is corrupt.
const setScript = new LuaScript(`${entryParser}${sweep}
local now = tonumber(ARGV[2])
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local current = 0
if raw then
  local version, expires = parse(raw)
  if not version then return {-1} end
  if expires == '' or tonumber(expires) > now then current = version end
end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= current then return {0, current} end
local version = current + 1
redis.call('HSET', KEYS[1], ARGV[1], version .. ':' .. ARGV[4] .. ':' .. ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
end
sweep(ARGV[2])
return {1, version}
`);

const getScript = new LuaScript(`return redis.call('HGET', KEYS[1], ARGV[1])`);

// ARGV: key, now. Replies 1 when a live entry was deleted; an expired one is cleaned up and counts as absent.
const deleteScript = new LuaScript(`${entryParser}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if live(raw, tonumber(ARGV[2])) then return 1 end
return 0
`);

// ARGV: limit ('' for all), now, then min and max (lex range specs) of each range, ascending and disjoint.
// Replies key, raw, key, raw, … of live entries.
const listScript = new LuaScript(`${entryParser}
local now = tonumber(ARGV[2])
local limit = tonumber(ARGV[1])
local out = {}
local found = 0
for r = 3, #ARGV - 1, 2 do
  local offset = 0
  while true do
    local keys = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[r], ARGV[r + 1], 'LIMIT', offset, 200)
    if #keys == 0 then break end
    local values = redis.call('HMGET', KEYS[1], unpack(keys))
    for i = 1, #keys do
      local raw = values[i]
      if raw and live(raw, now) then
        out[#out + 1] = keys[i]
        out[#out + 1] = raw
        found = found + 1
        if limit and found >= limit then return out end
      end
    end
    offset = offset + #keys
  end
end
return out
`);

/**
 * A {@link KeyValueStore} in Redis, for ID links, tokens and dedup keys shared by every process: each
 * operation is one atomic Lua script, so compare-and-set holds across processes and hosts.
 *
 * A namespace is three keys under `<keyPrefix>kv:{<namespace>}` (one Redis Cluster slot). Expiry is
 * judged by the caller's `clock`, as for leases (keep hosts NTP-synced): an entry is invisible from its
 * `expiresAt` on, and each write to a namespace deletes up to 100 of its expired entries, so TTL'd keys
 * do not pile up. `list` orders keys by Unicode code point (Redis compares UTF-8 bytes) and returns
 * every match unless given a `limit`; it runs as one script, so page large namespaces with `limit`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisKeyValueStore } from 'syncline/redis';
 *
 * const kv = new RedisKeyValueStore({ client: new Redis('redis://127.0.0.1:6379') });
 * const { ok } = await kv.set('links', 'order:1042', { invoice: 'INV-7' }, { ifVersion: 0 });
 * ```
 * @see {@link KeyValueStore}
 */
export class RedisKeyValueStore implements KeyValueStore {
  readonly #keys: RedisKeyspace;

  constructor(options: RedisStoreOptions) {
    this.#keys = new RedisKeyspace(options, '`new RedisKeyValueStore(options)`');
  }

  async get(namespace: string, key: string, signal?: AbortSignal): Promise<KeyValueEntry | undefined> {
    throwIfAborted(signal);
    const raw = await this.#keys.run(getScript, [this.#namespaceKeys(namespace)[0]], [encodeKey(key)]);
    if (typeof raw !== 'string') return undefined;
    const entry = this.#parse(namespace, key, raw);
    return entry.expiresAt !== undefined && this.#keys.clock.now() >= entry.expiresAt ? undefined : entry;
  }

  async set(
    namespace: string,
    key: string,
    value: JsonValue,
    options: KeyValueSetOptions = {},
    signal?: AbortSignal,
  ): Promise<KeyValueSetResult> {
    const { ttlMs, json } = prepareKvSet(namespace, key, value, options, signal);
    const now = this.#keys.clock.now();
    const reply = (await this.#keys.run(setScript, this.#namespaceKeys(namespace), [
      encodeKey(key),
      String(now),
      options.ifVersion === undefined ? '' : String(options.ifVersion),
      ttlMs === undefined ? '' : String(now + ttlMs),
      json,
    ])) as readonly number[];
    if (reply[0] === -1) throw this.#corrupt(namespace, key, 'set');
    return { ok: reply[0] === 1, version: Number(reply[1]) };
  }

  async delete(namespace: string, key: string, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    const reply = await this.#keys.run(deleteScript, this.#namespaceKeys(namespace), [encodeKey(key), String(this.#keys.clock.now())]);
    return reply === 1;
  }

  async list(
    namespace: string,
    options: { readonly prefix?: string; readonly after?: string; readonly limit?: number } = {},
    signal?: AbortSignal,
  ): Promise<{ key: string; entry: KeyValueEntry }[]> {
    throwIfAborted(signal);
    const limit = options.limit === undefined ? undefined : checkLimit(options.limit, 'kv.list');
    if (limit === 0) return [];
    const { prefix = '', after } = options;
    const ranges: readonly EncodedKeyRange[] = prefix === '' ? [{ from: '', to: undefined }] : encodedPrefixRanges(prefix);
    const bounds = lexBounds(ranges, after === undefined ? undefined : encodeKey(after));
    if (bounds.length === 0) return [];
    const [data, index] = this.#namespaceKeys(namespace);
    const reply = (await this.#keys.run(listScript, [data, index], [
      limit === undefined ? '' : String(limit),
      String(this.#keys.clock.now()),
      ...bounds,
    ])) as readonly string[];
    const result: { key: string; entry: KeyValueEntry }[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const key = decodeKey(String(reply[i]));
      result.push({ key, entry: this.#parse(namespace, key, String(reply[i + 1])) });
    }
    return result;
  }

  #namespaceKeys(namespace: string): [data: string, keys: string, expiry: string] {
    const base = `${this.#keys.prefix}kv:{${encodeKey(namespace)}}`;
    return [base, `${base}:keys`, `${base}:expiry`];
  }

  #parse(namespace: string, key: string, raw: string): KeyValueEntry {
    const first = raw.indexOf(':');
    const second = first < 0 ? -1 : raw.indexOf(':', first + 1);
    const version = Number(raw.slice(0, first));
    const expires = raw.slice(first + 1, second);
    let value: JsonValue;
    try {
      if (second < 0 || !Number.isSafeInteger(version) || (expires !== '' && !Number.isFinite(Number(expires)))) throw new Error('malformed');
      value = JSON.parse(raw.slice(second + 1)) as JsonValue;
    } catch (error) {
      throw this.#corrupt(namespace, key, 'read', error);
    }
    return expires === '' ? { value, version } : { value, version, expiresAt: Number(expires) };
  }

  #corrupt(namespace: string, key: string, operation: string, cause?: unknown): FatalError {
    return new FatalError(
      `Could not ${operation} key \`${key}\` of kv namespace \`${namespace}\`: its entry in Redis hash \`${this.#namespaceKeys(namespace)[0]}\` ` +
        'is not in the `<version>:<expiresAt>:<JSON>` form syncline writes. Something else wrote it: fix or delete that hash field ' +
        '(`kv.delete` removes it), and give syncline its own `keyPrefix`.',
      cause === undefined ? {} : { cause },
    );
  }
}

/**
 * The `ZRANGEBYLEX` min and max of each range of encoded keys, starting after `after` (encoded) when it
 * is given; ranges wholly at or below `after` are left out. Lex ranges compare bytes, and UTF-8 byte
 * order is code point order, so `Buffer.compare` decides which bound is higher.
 */
function lexBounds(ranges: readonly EncodedKeyRange[], after: string | undefined): string[] {
  const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
  const bounds: string[] = [];
  for (const { from, to } of ranges) {
    if (after !== undefined && to !== undefined && Buffer.compare(bytes(after), bytes(to)) >= 0) continue;
    const min = after !== undefined && Buffer.compare(bytes(after), bytes(from)) >= 0 ? `(${after}` : from === '' ? '-' : `[${from}`;
    bounds.push(min, to === undefined ? '+' : `(${to}`);
  }
  return bounds;
}
