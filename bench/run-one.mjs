// Runs one arm once in this (fresh) process and prints one JSON line with its figures.
// Usage: node bench/run-one.mjs <arm> <records>
import { performance } from 'node:perf_hooks';
import { arms } from './arms.mjs';
import { BATCH } from './workload.mjs';

const [armName, recordsArg] = process.argv.slice(2);
const arm = arms[armName];
const total = Number(recordsArg);
if (!arm || !Number.isInteger(total) || total < 1) {
  console.error(`usage: node bench/run-one.mjs <${Object.keys(arms).join('|')}> <records>`);
  process.exit(2);
}

const resources = arm.setup ? await arm.setup() : {};
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await arm.run(total, resources);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
if (arm.teardown) await arm.teardown(resources);

const { summary } = result;
const problems = [];
if (result.delivered !== total) problems.push(`delivered ${result.delivered} of ${total} records`);
// Arms that rebatch records themselves (the peers) report their sink's batch count: it must be what
// pages of BATCH give, or the arm wrote bigger (cheaper) batches than the others.
if (result.batches !== undefined && result.batches !== Math.ceil(total / BATCH)) problems.push(`wrote ${result.batches} batches, expected ${Math.ceil(total / BATCH)}`);
if (result.audited !== undefined && result.audited !== total) problems.push(`audited ${result.audited} of ${total} records`);
if (summary && (summary.status !== 'completed' || summary.read !== total || summary.written !== total)) {
  problems.push(`summary ${JSON.stringify({ status: summary.status, read: summary.read, written: summary.written, deadLettered: summary.deadLettered })}`);
}

console.log(
  JSON.stringify({
    arm: armName,
    records: total,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    // resourceUsage().maxRSS is in kilobytes: the peak of the whole process, start-up included.
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    heapUsedMB: process.memoryUsage().heapUsed / 2 ** 20,
    ...(summary ? { summary: { read: summary.read, written: summary.written, skipped: summary.skipped, deadLettered: summary.deadLettered, batches: summary.batches } } : {}),
    ok: problems.length === 0,
    ...(problems.length > 0 ? { problems } : {}),
  }),
);
