import { FatalError } from '../errors/fatal-error.js';
import type { InboxEntry, InboxMessage, InboxStore } from '../stores/inbox-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkLimit } from '../internal/store-checks.js';
import { decodeKey, encodeKey } from '../internal/key-codec.js';
import { LuaScript } from './lua-script.js';
import { RedisKeyspace, type RedisStoreOptions } from './options.js';

// Per inbox, three keys sharing one Redis Cluster hash tag:
//   KEYS[1] stream   entry id "<seq>-0", fields id, receivedAt, headers (JSON), body
//   KEYS[2] hash     message id -> seq, the dedup index
//   KEYS[3] counter  the last seq handed out; never deleted, so seqs are never reused after pruning
// Inbox names, message ids and bodies are written through encodeKey: ioredis sends strings as UTF-8, which
// would turn a lone surrogate into U+FFFD (merging two ids, changing a body).

// ARGV: message id, receivedAt, headers JSON, body. Replies {1, seq} when stored, {0, seq} for a redelivery.
const appendScript = new LuaScript(`
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {0, tonumber(existing)} end
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[1], seq .. '-0', 'id', ARGV[1], 'receivedAt', ARGV[2], 'headers', ARGV[3], 'body', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], seq)
return {1, seq}
`);

// ARGV: first seq, count.
const readScript = new LuaScript(`return redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])`);

// ARGV: throughSeq (a whole number), receivedBefore. Walks the range in chunks; replies how many it deleted.
const pruneScript = new LuaScript(`
local before = tonumber(ARGV[2])
local start = '-'
local deleted = 0
while true do
  local entries = redis.call('XRANGE', KEYS[1], start, ARGV[1], 'COUNT', 500)
  for i = 1, #entries do
    local fields = entries[i][2]
    if tonumber(fields[4]) < before then
      redis.call('XDEL', KEYS[1], entries[i][1])
      redis.call('HDEL', KEYS[2], fields[2])
      deleted = deleted + 1
    end
  end
  if #entries < 500 then return deleted end
  start = '(' .. entries[#entries][1]
end
`);

type StreamEntry = readonly [id: string, fields: readonly string[]];

/**
 * An {@link InboxStore} in Redis: a durable intake for webhooks shared by every process, deduplicated by
 * message id, read in arrival order by sequence number.
 *
 * Each inbox is a Redis stream (`<keyPrefix>inbox:{<name>}`) whose entry ids are the sequence numbers,
 * a hash of message id → seq for dedup, and a counter. `append` is one atomic script, so concurrent
 * redeliveries store one message. Sequence numbers start at 1 and are never reused, also after pruning;
 * once pruned, an id is forgotten and would be stored again. `append` is durable when it resolves only if
 * Redis persists every write before answering: AOF with `appendfsync always` (see the module docs).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisInboxStore } from 'syncline/redis';
 *
 * const inbox = new RedisInboxStore({ client: new Redis('redis://127.0.0.1:6379') });
 * await inbox.append('payments', { id: 'msg_1', receivedAt: Date.now(), headers: {}, body: '{}' });
 * const entries = await inbox.read('payments', 0, 100);
 * ```
 * @see {@link InboxStore}
 */
export class RedisInboxStore implements InboxStore {
  readonly #keys: RedisKeyspace;

  constructor(options: RedisStoreOptions) {
    this.#keys = new RedisKeyspace(options, '`new RedisInboxStore(options)`');
  }

  async append(inbox: string, message: InboxMessage, signal?: AbortSignal): Promise<{ inserted: boolean; seq: number }> {
    throwIfAborted(signal);
    const headers = toJsonText(message.headers, `the headers of message \`${message.id}\` for inbox \`${inbox}\``);
    const reply = (await this.#keys.run(appendScript, this.#inboxKeys(inbox), [
      encodeKey(message.id),
      String(message.receivedAt),
      headers,
      encodeKey(message.body),
    ])) as readonly number[];
    return { inserted: reply[0] === 1, seq: Number(reply[1]) };
  }

  async read(inbox: string, afterSeq: number, limit: number, signal?: AbortSignal): Promise<InboxEntry[]> {
    throwIfAborted(signal);
    checkLimit(limit, 'inbox.read');
    if (limit === 0) return [];
    const first = afterSeq < 0 ? '-' : String(Math.floor(afterSeq) + 1);
    const [stream] = this.#inboxKeys(inbox);
    const entries = (await this.#keys.run(readScript, [stream], [first, String(limit)])) as readonly StreamEntry[];
    return entries.map((entry) => this.#toEntry(inbox, stream, entry));
  }

  async prune(inbox: string, throughSeq: number, receivedBefore: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    if (throughSeq < 1) return 0;
    const through = String(Math.floor(Math.min(throughSeq, Number.MAX_SAFE_INTEGER)));
    const [stream, ids] = this.#inboxKeys(inbox);
    return Number(await this.#keys.run(pruneScript, [stream, ids], [through, String(receivedBefore)]));
  }

  #inboxKeys(inbox: string): [stream: string, ids: string, seq: string] {
    const base = `${this.#keys.prefix}inbox:{${encodeKey(inbox)}}`;
    return [base, `${base}:ids`, `${base}:seq`];
  }

  #toEntry(inbox: string, stream: string, [streamId, fields]: StreamEntry): InboxEntry {
    const [, id, , receivedAt, , headersJson, , body] = fields;
    const seq = Number.parseInt(streamId, 10);
    try {
      if (id === undefined || receivedAt === undefined || headersJson === undefined || body === undefined) throw new Error('missing fields');
      const headers = JSON.parse(headersJson) as Record<string, string>;
      return { id: decodeKey(id), receivedAt: Number(receivedAt), headers, body: decodeKey(body), seq };
    } catch (error) {
      throw new FatalError(
        `Could not read entry \`${streamId}\` of inbox \`${inbox}\`: Redis stream \`${stream}\` holds an entry not in the form syncline ` +
          'writes (fields id, receivedAt, headers as JSON, body). Something else wrote to the stream: delete that entry (XDEL), and give ' +
          'syncline its own `keyPrefix`.',
        { cause: error },
      );
    }
  }
}
