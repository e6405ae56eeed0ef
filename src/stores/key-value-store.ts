import type { JsonValue } from '../model/json.js';

/** A stored value with its version. */
export interface KeyValueEntry {
  readonly value: JsonValue;
  /** Starts at 1, incremented by every set. */
  readonly version: number;
  /** Epoch ms after which the entry is gone, when set with a TTL. */
  readonly expiresAt?: number;
}

/** Options of {@link KeyValueStore.set}. */
export interface KeyValueSetOptions {
  /**
   * Compare-and-set: write only if the current version is this one (`0`: only if the key is absent).
   * Omit to write unconditionally.
   */
  readonly ifVersion?: number;
  /** The entry expires this many ms after the write. */
  readonly ttlMs?: number;
}

/** Result of {@link KeyValueStore.set}. */
export type KeyValueSetResult =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly version: number };

/**
 * A small durable key-value store for ID links between systems, tokens and dedup keys.
 *
 * Keys live in namespaces. Values are JSON. `set` with `ifVersion` is an atomic compare-and-set; when it
 * fails it resolves `{ ok: false, version }` with the current version (0 when absent) instead of
 * throwing. Expired entries are invisible to every method. Implementations pass
 * `describeKeyValueStore` from `syncline/testing`.
 */
export interface KeyValueStore {
  get(namespace: string, key: string, signal?: AbortSignal): Promise<KeyValueEntry | undefined>;
  set(namespace: string, key: string, value: JsonValue, options?: KeyValueSetOptions, signal?: AbortSignal): Promise<KeyValueSetResult>;
  /** Returns whether the key existed. */
  delete(namespace: string, key: string, signal?: AbortSignal): Promise<boolean>;
  /** Keys of a namespace in ascending order, optionally only those starting with `prefix`. */
  list(
    namespace: string,
    options?: { readonly prefix?: string; readonly after?: string; readonly limit?: number },
    signal?: AbortSignal,
  ): Promise<{ key: string; entry: KeyValueEntry }[]>;
}
