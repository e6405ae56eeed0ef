import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { parseOptions } from '../../internal/options.js';
import type { AuditEvent, AuditQuery, AuditStore } from '../audit-store.js';
import { toJsonText } from '../../internal/json-text.js';
import { throwIfAborted } from '../../internal/signal.js';
import { checkLimit } from '../../internal/store-checks.js';

/** Options of {@link jsonlAuditStore}. */
export interface JsonlAuditStoreOptions {
  /**
   * The file events are appended to, one JSON object per line. Rotated files sit beside it as
   * `<path>.1` (the newest) to `<path>.<maxFiles>` (the oldest). Its directory is created at the
   * first write. Relative paths are resolved when `jsonlAuditStore()` is called.
   */
  readonly path: string;
  /**
   * Size in bytes at which the file is rotated: a batch that would take it past this goes to a fresh
   * file. A single batch larger than this still goes to one file whole.
   * @default 16777216 (16 MiB)
   */
  readonly maxBytes?: number;
  /**
   * Rotated files kept besides the current one; rotating past it deletes the oldest, so at most about
   * `(maxFiles + 1) × maxBytes` bytes are kept.
   * @default 5
   */
  readonly maxFiles?: number;
  /**
   * `fsync` the file after each batch. Off: a resolved `write` survives a crash of the process (the
   * data is in the OS), not a power loss. On: it survives power loss too, at one fsync per batch.
   * @default false
   */
  readonly fsync?: boolean;
}

const optionsSchema = z.strictObject({
  path: z.string().min(1),
  maxBytes: z.number().int().min(1).default(16 * 1024 * 1024),
  maxFiles: z.number().int().min(1).max(1000).default(5),
  fsync: z.boolean().default(false),
});

/**
 * JSON.stringify escapes CR, LF and every other control character inside strings, but leaves U+0085
 * (NEL), U+2028 and U+2029 raw, as JSON allows: tools that split lines on them (Python's
 * `splitlines()`, some editors and log shippers) would cut an event in two. Outside strings
 * JSON.stringify writes none of them, so replacing them everywhere only touches string contents.
 */
const LINE_BREAKING = /[\u0085\u2028\u2029]/g;

function toLine(event: AuditEvent): string {
  const json = toJsonText(event, `the \`${event.type}\` audit event of pipeline \`${event.pipelineId}\``);
  return `${json.replace(LINE_BREAKING, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

function matches(event: AuditEvent, query: AuditQuery): boolean {
  return (
    (query.pipelineId === undefined || event.pipelineId === query.pipelineId) &&
    (query.key === undefined || event.key === query.key) &&
    (query.runId === undefined || event.runId === query.runId) &&
    (query.type === undefined || event.type === query.type) &&
    (query.since === undefined || event.at >= query.since) &&
    (query.until === undefined || event.at < query.until)
  );
}

/** A line's event, or `undefined` for a line that is not one (torn by a crash mid-write, or edited). */
function parseLine(line: string): AuditEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || typeof (value as AuditEvent).at !== 'number') return undefined;
    return value as AuditEvent;
  } catch {
    return undefined;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * An {@link AuditStore} in plain JSON Lines files, for people who want to `grep`, `tail -f` or ship
 * their audit trail with a log collector.
 *
 * Every event is one line: CR, LF and the other line-breaking characters inside values are escaped,
 * so a line is never split by any line-oriented tool. A `write` is one append of all its lines. Files
 * rotate by size (`maxBytes`, keeping `maxFiles` old ones).
 *
 * `query` scans every kept file, oldest first, so it is slow: fine for a few hundred MB, use
 * `syncline/sqlite` or PostgreSQL to look up single records in large audit trails. `deleteOlderThan`
 * drops every file whose events are all older than the cutoff and rewrites a file that mixes old and
 * newer events. Calls of one store run one at a time; one process should write a given file (other
 * processes may read it). A line torn by a crash mid-write was never acknowledged and is skipped, as
 * is any line that is not a JSON event.
 *
 * @example
 * ```ts
 * import { pipeline, jsonlAuditStore, memoryStores } from 'syncline';
 *
 * const audit = jsonlAuditStore({ path: './logs/audit.jsonl', maxBytes: 50_000_000, maxFiles: 10 });
 * const orders = pipeline({ id: 'orders', source, stores: { ...memoryStores(), audit } }).to(sink);
 * ```
 * @see {@link AuditStore}
 */
export function jsonlAuditStore(options: JsonlAuditStoreOptions): JsonlAuditStore {
  return new JsonlAuditStore(options);
}

/**
 * The class behind {@link jsonlAuditStore}.
 *
 * @example
 * ```ts
 * import { JsonlAuditStore } from 'syncline';
 *
 * const audit = new JsonlAuditStore({ path: './audit.jsonl' });
 * const history = await audit.query({ pipelineId: 'orders', key: 'order-1042' });
 * ```
 */
export class JsonlAuditStore implements AuditStore {
  /** The current file, absolute. */
  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #fsync: boolean;
  /** Size of the current file, known after the first write; other processes must not append to it. */
  #size: number | undefined;
  /** Calls run one after another, so rotation never races an append or a scan. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: JsonlAuditStoreOptions) {
    const parsed = parseOptions(optionsSchema, options, 'options', 'Check the options passed to `jsonlAuditStore(options)`.');
    this.path = resolve(parsed.path);
    this.#maxBytes = parsed.maxBytes;
    this.#maxFiles = parsed.maxFiles;
    this.#fsync = parsed.fsync;
  }

  async write(events: readonly AuditEvent[], signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (events.length === 0) return;
    const text = events.map(toLine).join('');
    return this.#serial(signal, async () => {
      let size = await this.#currentSize();
      const bytes = Buffer.byteLength(text);
      if (size > 0 && size + bytes > this.#maxBytes) {
        await this.#rotate();
        size = 0;
      }
      const handle = await open(this.path, 'a');
      try {
        await handle.appendFile(text);
        if (this.#fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      this.#size = size + bytes;
    });
  }

  async query(query: AuditQuery, signal?: AbortSignal): Promise<AuditEvent[]> {
    throwIfAborted(signal);
    const limit = checkLimit(query.limit ?? 1000, 'audit.query');
    return this.#serial(signal, async () => {
      const found: AuditEvent[] = [];
      if (limit === 0) return found;
      for (const file of this.#filesOldestFirst()) {
        for await (const event of this.#events(file)) {
          if (!matches(event, query)) continue;
          found.push(event);
          if (found.length >= limit) return found;
        }
      }
      return found;
    });
  }

  async deleteOlderThan(epochMs: number, signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    return this.#serial(signal, async () => {
      let deleted = 0;
      for (const file of this.#filesOldestFirst()) {
        let old = 0;
        const kept: string[] = [];
        for await (const line of this.#lines(file)) {
          const event = parseLine(line);
          if (event && event.at < epochMs) old++;
          else if (event) kept.push(line);
        }
        if (old === 0) continue;
        deleted += old;
        if (kept.length === 0) {
          await rm(file, { force: true });
          if (file === this.path) this.#size = 0;
          continue;
        }
        // Write the kept events to a side file and rename it over: a crash leaves the old file or the new one.
        const text = kept.map((line) => `${line}\n`).join('');
        const temporary = `${file}.rewrite`;
        const handle = await open(temporary, 'w');
        try {
          await handle.writeFile(text);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temporary, file);
        if (file === this.path) this.#size = Buffer.byteLength(text);
      }
      return deleted;
    });
  }

  /** Runs `task` after every earlier call of this store has finished. */
  #serial<T>(signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      throwIfAborted(signal);
      return task();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The current file's size, read at the first write. A file that does not end in a newline (a write
   * torn by a crash) gets one first, so the next event starts on a line of its own.
   */
  async #currentSize(): Promise<number> {
    if (this.#size !== undefined) return this.#size;
    await mkdir(dirname(this.path), { recursive: true });
    let size = (await sizeOf(this.path)) ?? 0;
    if (size > 0) {
      const handle = await open(this.path, 'r+');
      try {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) {
          await handle.write('\n', size);
          size++;
        }
      } finally {
        await handle.close();
      }
    }
    this.#size = size;
    return size;
  }

  /** Shifts `<path>.n` to `<path>.n+1` (dropping the oldest) and the current file to `<path>.1`. */
  async #rotate(): Promise<void> {
    await rm(`${this.path}.${this.#maxFiles}`, { force: true });
    for (let n = this.#maxFiles - 1; n >= 1; n--) {
      if ((await sizeOf(`${this.path}.${n}`)) !== undefined) await rename(`${this.path}.${n}`, `${this.path}.${n + 1}`);
    }
    await rename(this.path, `${this.path}.1`);
    this.#size = 0;
  }

  #filesOldestFirst(): string[] {
    const files: string[] = [];
    for (let n = this.#maxFiles; n >= 1; n--) files.push(`${this.path}.${n}`);
    files.push(this.path);
    return files;
  }

  async *#lines(file: string): AsyncGenerator<string> {
    let stream: ReadStream | undefined;
    try {
      stream = createReadStream(file, { encoding: 'utf8' });
      // Surface ENOENT here rather than as an unhandled stream error.
      await new Promise<void>((resolveOpen, rejectOpen) => {
        stream?.once('open', () => resolveOpen());
        stream?.once('error', rejectOpen);
      });
    } catch (error) {
      stream?.destroy();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of lines) yield line;
    } finally {
      lines.close();
      stream.destroy();
    }
  }

  async *#events(file: string): AsyncGenerator<AuditEvent> {
    for await (const line of this.#lines(file)) {
      const event = parseLine(line);
      if (event) yield event;
    }
  }
}
