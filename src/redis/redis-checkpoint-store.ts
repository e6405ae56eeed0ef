import { CheckpointConflictError } from '../errors/checkpoint-conflict-error.js';
import { CheckpointInvalidError } from '../errors/checkpoint-invalid-error.js';
import { LeaseHeldError } from '../errors/lease-held-error.js';
import { LeaseLostError } from '../errors/lease-lost-error.js';
import type { AcquireLeaseOptions, CheckpointCommit, CheckpointStore, Lease, StoredCheckpoint } from '../stores/checkpoint-store.js';
import { toJsonText } from '../internal/json-text.js';
import { throwIfAborted } from '../internal/signal.js';
import { checkAcquireOptions, checkTtl } from '../internal/store-checks.js';
import { LuaScript } from './lua-script.js';
import { RedisKeyspace, type RedisStoreOptions } from './options.js';

// One hash per pipeline holds its lease and its checkpoint, so every operation is a script over one key
// (atomic, and on a single Redis Cluster slot). Times and versions are written as the decimal strings
// JavaScript made, never formatted by Lua, whose numbers print with 14 significant digits.
//
// Lease-check replies: {1} ok; {0, 'released'}; {0, 'taken', owner}; {0, 'expired', expiresAt};
// {-1, field, value} when a stored field is not a number.
const leaseCheck = `
local function check_lease(now, token)
  local lease = redis.call('HMGET', KEYS[1], 'leaseToken', 'leaseOwner', 'leaseExpiresAt')
  if not lease[1] then return {0, 'released'} end
  if lease[1] ~= token then return {0, 'taken', lease[2] or ''} end
  local expires = tonumber(lease[3])
  if not expires then return {-1, 'leaseExpiresAt', lease[3] or ''} end
  if now >= expires then return {0, 'expired', lease[3]} end
  return nil
end
`;

// The fencing epoch is the field leaseEpoch of the same hash (not a key of its own, which would put the
// script on two Cluster slots). Release and reset never delete it, so it only grows.
//
// ARGV: now, owner, token, expiresAt, takeOverFrom ('' for none). Replies {1, epoch}; {0, owner, expiresAt} when held.
const acquireScript = new LuaScript(`
local lease = redis.call('HMGET', KEYS[1], 'leaseToken', 'leaseOwner', 'leaseExpiresAt', 'leaseEpoch')
if lease[1] then
  local expires = tonumber(lease[3])
  if not expires then return {-1, 'leaseExpiresAt', lease[3] or ''} end
  if tonumber(ARGV[1]) < expires and (ARGV[5] == '' or lease[2] ~= ARGV[5]) then return {0, lease[2] or '', lease[3]} end
end
if lease[4] and not string.match(lease[4], '^%d+$') then return {-1, 'leaseEpoch', lease[4]} end
local epoch = redis.call('HINCRBY', KEYS[1], 'leaseEpoch', 1)
redis.call('HSET', KEYS[1], 'leaseToken', ARGV[3], 'leaseOwner', ARGV[2], 'leaseExpiresAt', ARGV[4])
return {1, epoch}
`);

// ARGV: now, token, expiresAt. Replies {1, epoch} ('0' for a lease taken before epochs existed).
const renewScript = new LuaScript(`${leaseCheck}
local failed = check_lease(tonumber(ARGV[1]), ARGV[2])
if failed then return failed end
redis.call('HSET', KEYS[1], 'leaseExpiresAt', ARGV[3])
return {1, redis.call('HGET', KEYS[1], 'leaseEpoch') or '0'}
`);

// ARGV: token
const releaseScript = new LuaScript(`
if redis.call('HGET', KEYS[1], 'leaseToken') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'leaseToken', 'leaseOwner', 'leaseExpiresAt')
end
return {1}
`);

// ARGV: now, token, expectedVersion, newVersion, cursor JSON, runId. Conflict reply: {2, actualVersion}.
const commitScript = new LuaScript(`${leaseCheck}
local failed = check_lease(tonumber(ARGV[1]), ARGV[2])
if failed then return failed end
local stored = redis.call('HGET', KEYS[1], 'version')
local actual = 0
if stored then
  actual = tonumber(stored)
  if not actual then return {-1, 'version', stored} end
end
if actual ~= tonumber(ARGV[3]) then return {2, stored or '0'} end
redis.call('HSET', KEYS[1], 'cursor', ARGV[5], 'version', ARGV[4], 'updatedAt', ARGV[1], 'runId', ARGV[6])
return {1}
`);

const loadScript = new LuaScript(`return redis.call('HMGET', KEYS[1], 'cursor', 'version', 'updatedAt', 'runId')`);

const resetScript = new LuaScript(`
redis.call('HDEL', KEYS[1], 'cursor', 'version', 'updatedAt', 'runId')
return {1}
`);

type Reply = readonly (string | number | null)[];

/**
 * A {@link CheckpointStore} in Redis: leases and compare-and-set commits shared by every process and host
 * that uses the same Redis, each operation one atomic Lua script.
 *
 * Each pipeline's lease and checkpoint live in one hash, `<keyPrefix>checkpoint:<pipelineId>`, with the
 * last fencing epoch handed out in its field `leaseEpoch` (bumped by every acquisition, kept by release
 * and `reset()`). A lease is
 * live while the caller's `clock.now() < expiresAt`: expiry is judged by the clocks of the hosts involved,
 * not by Redis, so keep them NTP-synced (skew must stay far below the lease TTL). A commit is accepted
 * only from the live lease's holder and only over the version it expects, so a paused runner whose lease
 * expired (a zombie) cannot commit.
 *
 * Durability is Redis's: a commit is as durable as Redis persistence makes it (AOF with `appendfsync
 * everysec` or `always`; see the `syncline/redis` module docs). A cursor that no longer parses is
 * reported as {@link CheckpointInvalidError}, never read as "no checkpoint".
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisCheckpointStore } from 'syncline/redis';
 *
 * const checkpoints = new RedisCheckpointStore({ client: new Redis('redis://127.0.0.1:6379') });
 * const lease = await checkpoints.acquireLease('orders-to-invoices', 'worker-1', 30_000);
 * await checkpoints.commit(lease, { cursor: { page: 2 }, expectedVersion: 0, runId: 'run-1' });
 * ```
 * @see {@link CheckpointStore} for the lifecycle.
 */
export class RedisCheckpointStore implements CheckpointStore {
  readonly #keys: RedisKeyspace;

  constructor(options: RedisStoreOptions) {
    this.#keys = new RedisKeyspace(options, '`new RedisCheckpointStore(options)`');
  }

  async acquireLease(pipelineId: string, owner: string, ttlMs: number, signal?: AbortSignal, options?: AcquireLeaseOptions): Promise<Lease> {
    throwIfAborted(signal);
    checkTtl(ttlMs, 'checkpoints.acquireLease');
    const takeOverFrom = checkAcquireOptions(options) ?? '';
    const now = this.#keys.clock.now();
    const token = crypto.randomUUID();
    const expiresAt = now + ttlMs;
    const key = this.#key(pipelineId);
    const reply = (await this.#keys.run(acquireScript, [key], [String(now), owner, token, String(expiresAt), takeOverFrom])) as Reply;
    if (reply[0] === -1) throw corrupt(pipelineId, key, reply);
    if (reply[0] === 0) throw new LeaseHeldError(pipelineId, String(reply[1]), Number(reply[2]));
    return { pipelineId, owner, token, expiresAt, epoch: Number(reply[1]) };
  }

  async renewLease(lease: Lease, ttlMs: number, signal?: AbortSignal): Promise<Lease> {
    throwIfAborted(signal);
    checkTtl(ttlMs, 'checkpoints.renewLease');
    const now = this.#keys.clock.now();
    const expiresAt = now + ttlMs;
    const key = this.#key(lease.pipelineId);
    const reply = (await this.#keys.run(renewScript, [key], [String(now), lease.token, String(expiresAt)])) as Reply;
    if (reply[0] !== 1) throw leaseFailure(lease.pipelineId, key, reply, 'renewLease');
    return { pipelineId: lease.pipelineId, owner: lease.owner, token: lease.token, expiresAt, epoch: Number(reply[1]) };
  }

  async releaseLease(lease: Lease, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    await this.#keys.run(releaseScript, [this.#key(lease.pipelineId)], [lease.token]);
  }

  async load(pipelineId: string, signal?: AbortSignal): Promise<StoredCheckpoint | undefined> {
    throwIfAborted(signal);
    const key = this.#key(pipelineId);
    const [cursorJson, version, updatedAt, runId] = (await this.#keys.run(loadScript, [key], [])) as Reply;
    if (cursorJson == null && version == null && updatedAt == null && runId == null) return undefined;
    const problems: string[] = [];
    let cursor: unknown;
    if (typeof cursorJson !== 'string') problems.push(`field \`cursor\` of Redis hash \`${key}\` is missing`);
    else {
      try {
        cursor = JSON.parse(cursorJson);
      } catch (error) {
        problems.push(`field \`cursor\` of Redis hash \`${key}\` is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    const numbers = { version: Number(version), updatedAt: Number(updatedAt) };
    if (version == null || !Number.isSafeInteger(numbers.version) || numbers.version < 1) {
      problems.push(`field \`version\` of Redis hash \`${key}\` holds \`${String(version)}\`, not a whole number from 1 up`);
    }
    if (updatedAt == null || !Number.isFinite(numbers.updatedAt)) {
      problems.push(`field \`updatedAt\` of Redis hash \`${key}\` holds \`${String(updatedAt)}\`, not epoch milliseconds`);
    }
    if (typeof runId !== 'string') problems.push(`field \`runId\` of Redis hash \`${key}\` is missing`);
    if (problems.length > 0) throw new CheckpointInvalidError(pipelineId, problems);
    return { pipelineId, cursor, version: numbers.version, updatedAt: numbers.updatedAt, runId: String(runId) };
  }

  async commit(lease: Lease, commit: CheckpointCommit, signal?: AbortSignal): Promise<StoredCheckpoint> {
    throwIfAborted(signal);
    const cursorJson = toJsonText(commit.cursor, `the cursor of \`checkpoints.commit\` for pipeline \`${lease.pipelineId}\``);
    const now = this.#keys.clock.now();
    const key = this.#key(lease.pipelineId);
    const version = commit.expectedVersion + 1;
    const reply = (await this.#keys.run(commitScript, [key], [
      String(now),
      lease.token,
      String(commit.expectedVersion),
      String(version),
      cursorJson,
      commit.runId,
    ])) as Reply;
    if (reply[0] === 2) throw new CheckpointConflictError(lease.pipelineId, commit.expectedVersion, Number(reply[1]));
    if (reply[0] !== 1) throw leaseFailure(lease.pipelineId, key, reply, 'commit');
    return { pipelineId: lease.pipelineId, cursor: JSON.parse(cursorJson) as unknown, version, updatedAt: now, runId: commit.runId };
  }

  async reset(pipelineId: string, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    await this.#keys.run(resetScript, [this.#key(pipelineId)], []);
  }

  #key(pipelineId: string): string {
    return `${this.#keys.prefix}checkpoint:${pipelineId}`;
  }
}

/** The error for a failed lease check of `renewLease` or `commit`, worded like the memory store's. */
function leaseFailure(pipelineId: string, key: string, reply: Reply, operation: string): Error {
  if (reply[0] === -1) return corrupt(pipelineId, key, reply);
  const lost = (detail: string): LeaseLostError => new LeaseLostError(pipelineId, `\`checkpoints.${operation}\` refused, ${detail}`);
  switch (reply[1]) {
    case 'released':
      return lost('no lease is held (it was released)');
    case 'taken':
      return lost(`it is now held by \`${String(reply[2])}\``);
    default:
      return lost(`it expired at ${new Date(Number(reply[2])).toISOString()}`);
  }
}

function corrupt(pipelineId: string, key: string, reply: Reply): CheckpointInvalidError {
  return new CheckpointInvalidError(pipelineId, [`field \`${String(reply[1])}\` of Redis hash \`${key}\` holds \`${String(reply[2])}\`, not a number`]);
}
