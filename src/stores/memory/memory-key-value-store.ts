import type { JsonValue } from '../../model/json.js';
import type { Clock } from '../../time/clock.js';
import type { KeyValueEntry, KeyValueSetOptions, KeyValueSetResult, KeyValueStore } from '../key-value-store.js';
import { fromJsonText } from '../../internal/json-text.js';
import { resolveClock, type MemoryStoreOptions } from './options.js';
import { throwIfAborted } from '../../internal/signal.js';
import { checkLimit, prepareKvSet } from '../../internal/store-checks.js';
import { compareKeys } from '../../internal/key-codec.js';

interface Row {
  readonly json: string;
  readonly version: number;
  readonly expiresAt: number | undefined;
}

/**
 * A {@link KeyValueStore} in process memory, for tests and single-process tools. Lost when the process
 * exits.
 *
 * An entry set with `ttlMs` is gone from `expiresAt` on (judged by the clock): every method treats it
 * as absent, so its next `set` starts again at version 1. `list` orders keys by Unicode code point,
 * as SQLite, PostgreSQL (`COLLATE "C"`) and Redis do (a lone surrogate counts as its own code point,
 * U+D800–U+DFFF), and returns every match unless given a `limit`.
 *
 * @example
 * ```ts
 * import { MemoryKeyValueStore } from 'syncline';
 *
 * const kv = new MemoryKeyValueStore();
 * const { ok } = await kv.set('links', 'order:1042', { invoice: 'INV-7' }, { ifVersion: 0 });
 * ```
 * @see {@link KeyValueStore}
 */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly #clock: Clock;
  readonly #namespaces = new Map<string, Map<string, Row>>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = resolveClock(options, '`new MemoryKeyValueStore(options)`');
  }

  async get(namespace: string, key: string, signal?: AbortSignal): Promise<KeyValueEntry | undefined> {
    throwIfAborted(signal);
    const row = this.#live(namespace, key, this.#clock.now());
    return row && toEntry(row);
  }

  async set(
    namespace: string,
    key: string,
    value: JsonValue,
    options: KeyValueSetOptions = {},
    signal?: AbortSignal,
  ): Promise<KeyValueSetResult> {
    const { ttlMs, json } = prepareKvSet(namespace, key, value, options, signal);
    const now = this.#clock.now();
    const current = this.#live(namespace, key, now)?.version ?? 0;
    if (options.ifVersion !== undefined && options.ifVersion !== current) return { ok: false, version: current };
    let entries = this.#namespaces.get(namespace);
    if (!entries) this.#namespaces.set(namespace, (entries = new Map()));
    const row: Row = { json, version: current + 1, expiresAt: ttlMs === undefined ? undefined : now + ttlMs };
    entries.set(key, row);
    return { ok: true, version: row.version };
  }

  async delete(namespace: string, key: string, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    if (!this.#live(namespace, key, this.#clock.now())) return false;
    this.#remove(namespace, key);
    return true;
  }

  async list(
    namespace: string,
    options: { readonly prefix?: string; readonly after?: string; readonly limit?: number } = {},
    signal?: AbortSignal,
  ): Promise<{ key: string; entry: KeyValueEntry }[]> {
    throwIfAborted(signal);
    const limit = options.limit === undefined ? Number.POSITIVE_INFINITY : checkLimit(options.limit, 'kv.list');
    const { prefix = '', after } = options;
    const now = this.#clock.now();
    const keys: string[] = [];
    for (const key of [...(this.#namespaces.get(namespace)?.keys() ?? [])]) {
      if (!key.startsWith(prefix)) continue;
      if (after !== undefined && compareKeys(key, after) <= 0) continue;
      if (this.#live(namespace, key, now)) keys.push(key);
    }
    keys.sort(compareKeys);
    const result: { key: string; entry: KeyValueEntry }[] = [];
    for (const key of keys) {
      if (result.length >= limit) break;
      const row = this.#namespaces.get(namespace)?.get(key);
      if (row) result.push({ key, entry: toEntry(row) });
    }
    return result;
  }

  /** The entry if present and unexpired; an expired one is dropped on the way so memory does not grow. */
  #live(namespace: string, key: string, now: number): Row | undefined {
    const row = this.#namespaces.get(namespace)?.get(key);
    if (row?.expiresAt !== undefined && now >= row.expiresAt) {
      this.#remove(namespace, key);
      return undefined;
    }
    return row;
  }

  #remove(namespace: string, key: string): void {
    const entries = this.#namespaces.get(namespace);
    entries?.delete(key);
    if (entries?.size === 0) this.#namespaces.delete(namespace);
  }
}

function toEntry(row: Row): KeyValueEntry {
  const value = fromJsonText<JsonValue>(row.json);
  return row.expiresAt === undefined ? { value, version: row.version } : { value, version: row.version, expiresAt: row.expiresAt };
}
