import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlAuditStore, jsonlAuditStore } from '../../src/stores/jsonl/jsonl-audit-store.js';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import type { AuditEvent } from '../../src/stores/audit-store.js';
import { describeAuditStore } from '../../src/testing/conformance/index.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-jsonl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const nextPath = (): string => join(dir, `run-${++n}`, 'audit.jsonl');
const t0 = Date.UTC(2026, 0, 1);

function event(at: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return { at, pipelineId: 'orders', runId: 'run-1', type: 'written', key: `order-${at - t0}`, ...overrides };
}

describeAuditStore('jsonl', async () => ({ store: jsonlAuditStore({ path: nextPath() }) }));

describe('jsonlAuditStore', () => {
  it('writes one line per event, whatever line breaks the values hold, and reads them back exactly', async () => {
    const path = nextPath();
    const store = jsonlAuditStore({ path });
    const breaks = 'cr\r lf\n crlf\r\n nel\u0085 ls\u2028 ps\u2029 vt\u000b ff\u000c fs\u001c gs\u001d rs\u001e nul\u0000 end';
    const events = [
      event(t0, { reason: breaks, payload: { note: breaks, [`key${breaks}`]: [breaks] } }),
      event(t0 + 1, { error: { name: 'Error', message: `line one\nline two\u2028three` } }),
      event(t0 + 2),
    ];
    await store.write(events.slice(0, 2));
    await store.write(events.slice(2));
    const text = readFileSync(path, 'utf8');
    // Split the way the most eager tools do (Python's str.splitlines): still exactly one line per event.
    const lines = text.split(/\r\n|[\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029]/);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(lines.slice(0, 3).map((line) => JSON.parse(line) as unknown)).toEqual(events);
    expect(await store.query({ pipelineId: 'orders' })).toEqual(events);
  });

  it('appends each batch in one write and keeps what earlier store instances wrote', async () => {
    const path = nextPath();
    await jsonlAuditStore({ path }).write([event(t0), event(t0 + 1)]);
    const again = jsonlAuditStore({ path });
    await again.write([event(t0 + 2)]);
    expect((await again.query({})).map((e) => e.at)).toEqual([t0, t0 + 1, t0 + 2]);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(4);
  });

  it('skips a line torn by a crash and starts the next event on a line of its own', async () => {
    const path = nextPath();
    await jsonlAuditStore({ path }).write([event(t0)]);
    appendFileSync(path, '{"at":1767225600001,"pipelineId":"ord');
    const restarted = jsonlAuditStore({ path });
    await restarted.write([event(t0 + 2)]);
    expect((await restarted.query({})).map((e) => e.at)).toEqual([t0, t0 + 2]);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(4);
  });

  it('rotates by size, keeps maxFiles old files, and queries across them oldest first', async () => {
    const path = nextPath();
    const store = jsonlAuditStore({ path, maxBytes: 400, maxFiles: 2 });
    const lineBytes = Buffer.byteLength(`${JSON.stringify(event(t0))}\n`);
    const written: AuditEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const batch = [event(t0 + 2 * i), event(t0 + 2 * i + 1)];
      written.push(...batch);
      await store.write(batch);
    }
    const files = readdirSync(join(path, '..')).sort();
    expect(files).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
    for (const file of files) expect(statSync(join(path, '..', file)).size).toBeLessThanOrEqual(400);
    const kept = await store.query({ limit: 10_000 });
    // Whole batches per file, the newest ones kept, in the order written.
    const perFile = 2 * Math.floor(400 / (2 * lineBytes));
    expect(kept.length).toBeGreaterThan(2 * perFile);
    expect(kept.length).toBeLessThanOrEqual(3 * perFile);
    expect(kept).toEqual(written.slice(-kept.length));
    expect(kept.at(-1)).toEqual(written.at(-1));
  });

  it('puts a batch larger than maxBytes whole into a fresh file', async () => {
    const path = nextPath();
    const store = jsonlAuditStore({ path, maxBytes: 100, maxFiles: 3 });
    await store.write([event(t0)]);
    const big = Array.from({ length: 10 }, (_, i) => event(t0 + 1 + i));
    await store.write(big);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(10);
    expect((await store.query({})).map((e) => e.at)).toEqual([t0, ...big.map((e) => e.at)]);
  });

  it('deleteOlderThan drops files with only old events and rewrites a file with some', async () => {
    const path = nextPath();
    const store = jsonlAuditStore({ path, maxBytes: 300, maxFiles: 5 });
    for (let i = 0; i < 12; i++) await store.write([event(t0 + i)]);
    const before = readdirSync(join(path, '..')).length;
    expect(before).toBeGreaterThan(2);
    expect(await store.deleteOlderThan(t0 + 10)).toBe(10);
    expect((await store.query({})).map((e) => e.at)).toEqual([t0 + 10, t0 + 11]);
    expect(readdirSync(join(path, '..')).length).toBeLessThan(before);
    await store.write([event(t0 + 12)]);
    expect((await store.query({})).map((e) => e.at)).toEqual([t0 + 10, t0 + 11, t0 + 12]);
  });

  it('runs concurrent calls one at a time, so no write is lost or interleaved', async () => {
    const path = nextPath();
    const store = jsonlAuditStore({ path, maxBytes: 2_000, maxFiles: 50 });
    const batches = Array.from({ length: 30 }, (_, i) => [event(t0 + 3 * i), event(t0 + 3 * i + 1), event(t0 + 3 * i + 2)]);
    await Promise.all(batches.map((batch) => store.write(batch)));
    const all = await store.query({ limit: 10_000 });
    expect(all).toHaveLength(90);
    expect(new Set(all.map((e) => e.at)).size).toBe(90);
  });

  it('fsync: true writes the same lines', async () => {
    const path = nextPath();
    const store = jsonlAuditStore({ path, fsync: true });
    await store.write([event(t0)]);
    expect(await store.query({})).toEqual([event(t0)]);
  });

  it('queries nothing before the first write, and creates no file', async () => {
    const path = nextPath();
    const store = new JsonlAuditStore({ path });
    expect(await store.query({ pipelineId: 'orders' })).toEqual([]);
    expect(await store.deleteOlderThan(t0)).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('rejects bad options with InvalidOptionsError naming the option', () => {
    for (const [options, message] of [
      [{}, /`options.path`/],
      [{ path: 'a.jsonl', maxBytes: 0 }, /`options.maxBytes`/],
      [{ path: 'a.jsonl', maxFiles: 0 }, /`options.maxFiles`/],
      [{ path: 'a.jsonl', rotate: true }, /unknown option/],
    ] as const) {
      expect(() => jsonlAuditStore(options as never)).toThrow(InvalidOptionsError);
      expect(() => jsonlAuditStore(options as never)).toThrow(message);
    }
  });

  it('ignores blank and foreign lines a person added to the file', async () => {
    const path = nextPath();
    const store = jsonlAuditStore({ path });
    await store.write([event(t0)]);
    writeFileSync(path, `${readFileSync(path, 'utf8')}\n# a note\n[1,2]\n`);
    await store.write([event(t0 + 1)]);
    expect((await store.query({})).map((e) => e.at)).toEqual([t0, t0 + 1]);
  });
});
