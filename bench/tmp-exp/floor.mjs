import { BATCH, countingSink, makePage, mapOrder } from '../workload.mjs';
import { z } from 'zod';
const total = Number(process.argv[3] || 1_000_000);
const ID_PREFIX = 'bench:';
async function loop() {
  const sink = countingSink();
  for (let offset = 0; offset < total; offset += BATCH) {
    const page = makePage(offset, Math.min(BATCH, total - offset));
    const out = page.map((r) => ({ key: r.key, idempotencyKey: ID_PREFIX + r.key, data: mapOrder(r.data) }));
    await sink.write(out);
  }
}
function gen() {
  return { async *[Symbol.asyncIterator]() { for (let offset = 0; offset < total; offset += BATCH) { const end = Math.min(total, offset + BATCH); yield { records: makePage(offset, end - offset), cursor: { offset: end } }; } } };
}
async function genLoop() {
  const sink = countingSink();
  for await (const page of gen()) {
    const out = page.records.map((r) => ({ key: r.key, idempotencyKey: ID_PREFIX + r.key, data: mapOrder(r.data) }));
    await sink.write(out);
  }
}
const schema = z.object({ offset: z.number().int().min(0) });
async function genLoopCommit() {
  const sink = countingSink();
  let stored; let version = 0;
  for await (const page of gen()) {
    const records = page.records; const n = records.length;
    const keys = new Array(n), data = new Array(n);
    let prev = '';
    for (let i = 0; i < n; i++) { const k = records[i].key; if (typeof k !== 'string' || k === '') throw new Error(); if (k.length > prev.length || (k.length === prev.length && k > prev)) prev = k; else throw new Error('dup'); keys[i] = k; data[i] = records[i].data; }
    for (let i = 0; i < n; i++) data[i] = mapOrder(data[i]);
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { key: keys[i], idempotencyKey: ID_PREFIX + keys[i], data: data[i] };
    await sink.write(out);
    schema.safeParse(page.cursor);
    stored = await (async () => JSON.stringify(page.cursor))();
    JSON.parse(stored); version++;
  }
}
const arms = { loop, genLoop, genLoopCommit };
const t0 = performance.now(); await arms[process.argv[2]](); console.log(process.argv[2], (performance.now() - t0).toFixed(0));
