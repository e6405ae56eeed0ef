#!/usr/bin/env node
// `npm run bench`: syncline against hand-written loops doing the same work, per the performance goals in
// docs/performance.md.
//
// Method: every measurement is a fresh `node` process (bench/run-one.mjs) running one arm once; the arms
// of all comparisons are interleaved within each round (rotated from round to round, so no arm always
// runs first or last); no forced gc. Reported: medians over the rounds of wall and CPU time, and per-round
// ratios, each taken between two runs of the same round.
//
// Environment:
//   BENCH_RECORDS         records per timed run                       (default 1000000)
//   BENCH_ROUNDS          rounds; every arm runs once per round       (default 7, at least 5 for the goals)
//   BENCH_MEMORY_RECORDS  records of the smaller memory run; the larger one is twice as many (default 3000000)
//   BENCH_DURABLE_RECORDS records per timed run of the durable (SQLite) variant (default 200000)
//   BENCH_ONLY            comma-separated comparisons to run: map,validate,limiter,interpreted,durable,memory,lookup,
//                         peer-node-stream,peer-rxjs,peer-effect (`map` selects the three peer comparisons too)
//   BENCH_DIST            another build's index.js to measure instead of dist/index.js
//   BENCH_BATCH           page and sink batch size (default 500, as the goals are stated)
//
// The audit lookup (bench/audit-lookup.mjs: 1M audit rows in SQLite and PostgreSQL, lookups by key) runs once,
// after the rounds; its own variables (AUDIT_ROWS, LOOKUPS, AUDIT_BACKENDS, PG_URL) pass through.
//
// Measures dist/: `npm run bench` builds first; `node bench/run.mjs` alone measures the build as it is.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function intFromEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}.`);
    process.exit(2);
  }
  return value;
}

const RECORDS = intFromEnv('BENCH_RECORDS', 1_000_000, 1);
const ROUNDS = intFromEnv('BENCH_ROUNDS', 7, 1);
const MEMORY_RECORDS = intFromEnv('BENCH_MEMORY_RECORDS', 3_000_000, 1);
const MEMORY_HEAP_MB = 64;
// SQLite does about 6 µs of work per audit row on top of variant 2's 0.6 µs per record: 200k records keep
// the 14 durable runs of a default session near 30 s.
const DURABLE_RECORDS = intFromEnv('BENCH_DURABLE_RECORDS', 200_000, 1);

/**
 * Variant 1 written with another stream library (bench/arms.mjs), against the same `map/syncline` runs.
 * Part of `map`: BENCH_ONLY=map selects these too.
 */
const peer = (name, arm, library) => ({
  name: `peer-${name}`,
  group: 'map',
  title: `1p. as 1, ${library} against syncline`,
  baseline: { arm, records: RECORDS },
  candidate: { arm: 'map/syncline', records: RECORDS },
  goal: 1,
  goalText: `syncline faster than ${library} (ratio = ${library} time / syncline time ≥ 1)`,
});

/**
 * The comparisons. `ratio` is baseline time / candidate time: 1 means equal, below 1 the candidate is
 * slower. `goal` is the lowest acceptable median ratio.
 */
const comparisons = [
  {
    name: 'map',
    title: '1. source → map → sink, audit off',
    baseline: { arm: 'map/loop', records: RECORDS },
    candidate: { arm: 'map/syncline', records: RECORDS },
    goal: 0.9,
    goalText: 'syncline ≥ 0.9× the hand-written loop (ratio = loop time / syncline time)',
  },
  peer('node-stream', 'map/node-stream', 'Node streams (stream/promises pipeline)'),
  peer('rxjs', 'map/rxjs', 'RxJS'),
  peer('effect', 'map/effect', 'Effect Stream'),
  {
    name: 'validate',
    title: '2. source → validate (compiled zod) → map → sink, audit of outcomes',
    baseline: { arm: 'validate/loop', records: RECORDS },
    candidate: { arm: 'validate/syncline', records: RECORDS },
    goal: 0.9,
    goalText: 'syncline ≥ 0.9× the hand-written loop (ratio = loop time / syncline time)',
  },
  {
    name: 'limiter',
    title: '3. as 1, with a rate limiter that does not bind',
    baseline: { arm: 'map/syncline', records: RECORDS },
    candidate: { arm: 'map+limiter/syncline', records: RECORDS },
    goal: 1 / 1.1,
    goalText: 'at most 10% slower than without a limiter (ratio = no-limiter time / limiter time ≥ 0.909)',
  },
  {
    name: 'interpreted',
    title: '2b. as 2, with zod’s interpreted parser (validate(schema, { compile: false }))',
    baseline: { arm: 'validate-interpreted/loop', records: RECORDS },
    candidate: { arm: 'validate-interpreted/syncline', records: RECORDS },
    goal: undefined,
    goalText: 'informational',
  },
  {
    name: 'durable',
    title: `5. as 2, durable: SQLite checkpoints, dead letters and audit (${fmtCount(DURABLE_RECORDS)} records)`,
    baseline: { arm: 'durable/loop', records: DURABLE_RECORDS },
    candidate: { arm: 'durable/syncline', records: DURABLE_RECORDS },
    goal: 0.9,
    goalText: 'syncline ≥ 0.9× the hand-written loop over node:sqlite (ratio = loop time / syncline time)',
  },
];

const memory = {
  name: 'memory',
  title: `4. memory: as 1, under node --max-old-space-size=${MEMORY_HEAP_MB}`,
  small: { arm: 'memory/syncline', records: MEMORY_RECORDS, heapMb: MEMORY_HEAP_MB },
  large: { arm: 'memory/syncline', records: MEMORY_RECORDS * 2, heapMb: MEMORY_HEAP_MB },
  goal: 1.1,
  goalText: `both complete; peak RSS at ${fmtCount(MEMORY_RECORDS * 2)} ≤ 1.1× peak RSS at ${fmtCount(MEMORY_RECORDS)}`,
};

const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean)) : undefined;
const LOOKUP = 'lookup';
const known = new Set([...comparisons.map((c) => c.name), memory.name, LOOKUP]);
for (const name of only ?? []) {
  if (!known.has(name)) {
    console.error(`BENCH_ONLY: unknown comparison ${JSON.stringify(name)}; known: ${[...known].join(', ')}.`);
    process.exit(2);
  }
}
const selected = comparisons.filter((c) => !only || only.has(c.name) || (c.group !== undefined && only.has(c.group)));
const withMemory = !only || only.has(memory.name);
const withLookup = !only || only.has(LOOKUP);

const jobKey = (job) => `${job.arm}@${job.records}${job.heapMb ? `/heap${job.heapMb}` : ''}`;
const jobs = new Map();
for (const c of selected) for (const job of [c.baseline, c.candidate]) jobs.set(jobKey(job), job);
if (withMemory) for (const job of [memory.small, memory.large]) jobs.set(jobKey(job), job);
const jobList = [...jobs.values()];

const distIndex = process.env.BENCH_DIST ?? join(root, 'dist', 'index.js');
if (!existsSync(distIndex)) {
  console.error(`${distIndex} is missing: build the package first (\`npm run build\`), then run the bench again.`);
  process.exit(2);
}

function runJob(job, round) {
  const args = [...(job.heapMb ? [`--max-old-space-size=${job.heapMb}`] : []), join(here, 'run-one.mjs'), job.arm, String(job.records)];
  const child = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  let result;
  try {
    result = JSON.parse(line);
  } catch {
    result = { arm: job.arm, records: job.records, ok: false };
  }
  const failed = child.status !== 0 || !result.ok;
  return {
    ...result,
    key: jobKey(job),
    round,
    heapMb: job.heapMb,
    exitCode: child.status,
    signal: child.signal,
    ok: !failed,
    ...(failed ? { stderr: child.stderr.trim().split('\n').slice(-15).join('\n') } : {}),
  };
}

/** Runs bench/audit-lookup.mjs once; its last stdout line is its result as JSON, the rest is its report. */
function runLookup() {
  const started = Date.now();
  const child = spawnSync(process.execPath, [join(here, 'audit-lookup.mjs')], { cwd: root, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  const lines = child.stdout.trim().split('\n');
  let result;
  try {
    result = child.status === 0 ? JSON.parse(lines.at(-1) ?? '') : undefined;
  } catch {
    result = undefined;
  }
  console.log(`audit lookup: ${result ? `${((Date.now() - started) / 1000).toFixed(0)} s` : 'FAILED'}`);
  return {
    result,
    output: (result ? lines.slice(0, -1) : lines).join('\n').trim(),
    exitCode: child.status,
    signal: child.signal,
    stderr: child.stderr.trim().split('\n').slice(-15).join('\n'),
  };
}

function gitState() {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  return { commit: head.stdout.trim(), srcModified: status.stdout.trim() !== '' };
}

const fmtLoad = (l) => l.map((x) => x.toFixed(2)).join(' ');
const loadBefore = loadavg();
const started = Date.now();
console.log(
  `syncline bench — ${fmtCount(RECORDS)} records per timed run, ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, ` +
    `${jobList.length} runs per round` +
    (selected.some((c) => c.name === 'durable') ? ` (durable variant: ${fmtCount(DURABLE_RECORDS)} records)` : '') +
    `, Node ${process.version}, ${availableParallelism()} CPUs` +
    (process.env.BENCH_DIST ? `, BENCH_DIST=${process.env.BENCH_DIST}` : ''),
);
// Other work on the machine skews single runs; per-round ratios absorb most of it, the load shows how much.
console.log(`load average before: ${fmtLoad(loadBefore)}`);
const runs = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = jobList.map((_, i) => jobList[(i + round) % jobList.length]);
  const line = [];
  for (const job of order) {
    const run = runJob(job, round);
    runs.push(run);
    line.push(`${run.key} ${run.ok ? `${fmtMs(run.wallMs)}` : 'FAILED'}`);
  }
  console.log(`round ${round + 1}/${ROUNDS}: ${line.join(' · ')}`);
}
const lookupRun = withLookup ? runLookup() : undefined;
const elapsedS = (Date.now() - started) / 1000;
const loadAfter = loadavg();

// ── report ────────────────────────────────────────────────────────────────────────────────────────

const runsOf = (job) => runs.filter((r) => r.key === jobKey(job));
const okRunsOf = (job) => runsOf(job).filter((r) => r.ok);
const runIn = (job, round) => runs.find((r) => r.key === jobKey(job) && r.round === round && r.ok);

function describeJob(job) {
  const ok = okRunsOf(job);
  return {
    key: jobKey(job),
    runs: runsOf(job).length,
    failed: runsOf(job).length - ok.length,
    wallMs: median(ok.map((r) => r.wallMs)),
    cpuMs: median(ok.map((r) => r.cpuMs)),
    peakRssMB: median(ok.map((r) => r.peakRssMB)),
    nsPerRecordWall: ok.length ? (median(ok.map((r) => r.wallMs)) * 1e6) / job.records : undefined,
  };
}

const report = { comparisons: [], memory: undefined, lookup: undefined };
const failures = runs.filter((r) => !r.ok);

for (const c of selected) {
  const wallRatios = [];
  const cpuRatios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const b = runIn(c.baseline, round);
    const k = runIn(c.candidate, round);
    if (!b || !k) continue;
    wallRatios.push(b.wallMs / k.wallMs);
    cpuRatios.push(b.cpuMs / k.cpuMs);
  }
  const base = describeJob(c.baseline);
  const cand = describeJob(c.candidate);
  const ratio = median(wallRatios);
  const met = c.goal === undefined || ratio === undefined ? undefined : ratio >= c.goal;
  report.comparisons.push({
    name: c.name,
    title: c.title,
    goal: c.goalText,
    baseline: base,
    candidate: cand,
    wallRatios,
    cpuRatios,
    medianWallRatio: ratio,
    medianCpuRatio: median(cpuRatios),
    met,
  });
  console.log(`\n${c.title}`);
  console.log(
    table(
      ['arm', 'wall ms (median)', 'CPU ms (median)', 'ns/record', 'peak RSS MB'],
      [base, cand].map((j) => [j.key, fmtMs(j.wallMs), fmtMs(j.cpuMs), fmtNum(j.nsPerRecordWall, 0), fmtNum(j.peakRssMB, 0)]),
    ),
  );
  console.log(`  per-round ratio, wall: ${wallRatios.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`  per-round ratio, CPU:  ${cpuRatios.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(
    `  median ratio: wall ${fmtNum(ratio, 3)}, CPU ${fmtNum(median(cpuRatios), 3)} — goal: ${c.goalText}` +
      (met === undefined ? '' : met ? ' — MET' : ' — MISSED'),
  );
}

if (withMemory) {
  const rssRatios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const s = runIn(memory.small, round);
    const l = runIn(memory.large, round);
    if (s && l) rssRatios.push(l.peakRssMB / s.peakRssMB);
  }
  const small = describeJob(memory.small);
  const large = describeJob(memory.large);
  const completed = small.failed === 0 && large.failed === 0;
  const ratio = median(rssRatios);
  const met = completed && ratio !== undefined && ratio <= memory.goal;
  report.memory = { title: memory.title, goal: memory.goalText, small, large, rssRatios, medianRssRatio: ratio, completed, met };
  console.log(`\n${memory.title}`);
  console.log(
    table(
      ['run', 'completed', 'wall ms (median)', 'CPU ms (median)', 'peak RSS MB (median)'],
      [small, large].map((j) => [j.key, `${j.runs - j.failed}/${j.runs}`, fmtMs(j.wallMs), fmtMs(j.cpuMs), fmtNum(j.peakRssMB, 1)]),
    ),
  );
  console.log(`  per-round peak RSS ratio (large / small): ${rssRatios.map((r) => r.toFixed(3)).join(' ')}`);
  console.log(`  median: ${fmtNum(ratio, 3)} — goal: ${memory.goalText} — ${met ? 'MET' : 'MISSED'}`);
}

if (lookupRun) {
  report.lookup = lookupRun.result ?? { failed: true, exitCode: lookupRun.exitCode };
  console.log(`\n6. audit trace lookup by record key: audit.query({ pipelineId, key }), indexed, one call at a time`);
  if (lookupRun.output) console.log(lookupRun.output.replace(/^(?=.)/gm, '  '));
  const r = lookupRun.result;
  if (r) {
    const rows = [];
    for (const [name, b] of [['SQLite', r.sqlite], ['PostgreSQL', r.postgres]]) {
      if (!b) continue;
      if (b.skipped) rows.push([name, 'skipped', '—', '—', '—', '—', '—']);
      else rows.push([name, fmtCount(b.rows), b.medianMs.toFixed(3), b.p95Ms.toFixed(3), b.minMs.toFixed(3), b.maxMs.toFixed(3), b.storeWriteEventsPerSecond.toLocaleString('en')]);
    }
    console.log(table(['backend', 'audit rows', 'median ms', 'p95 ms', 'min ms', 'max ms', 'audit.write events/s'], rows));
    console.log(`  ${r.lookups} timed lookups of random keys per backend (each key has ${r.eventsPerKey} events), after 10 warm-up lookups`);
  } else {
    console.log(`\nFAILED: audit lookup (exit ${lookupRun.exitCode ?? lookupRun.signal})`);
    if (lookupRun.stderr) console.log(lookupRun.stderr.replace(/^/gm, '  '));
  }
}

for (const f of failures) {
  console.log(`\nFAILED: ${f.key} round ${f.round + 1} (exit ${f.exitCode ?? f.signal})${f.problems ? `: ${f.problems.join('; ')}` : ''}`);
  if (f.stderr) console.log(f.stderr.replace(/^/gm, '  '));
}
console.log(`\nTotal bench time: ${elapsedS.toFixed(0)} s. Load average after: ${fmtLoad(loadAfter)}.`);

const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const out = join(resultsDir, 'latest.json');
writeFileSync(
  out,
  JSON.stringify(
    {
      date: new Date(started).toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpu: cpus()[0]?.model,
      cpus: availableParallelism(),
      totalMemMB: Math.round(totalmem() / 2 ** 20),
      loadAverage: { before: loadBefore, after: loadAfter },
      git: gitState(),
      settings: { records: RECORDS, durableRecords: DURABLE_RECORDS, rounds: ROUNDS, batch: Number(process.env.BENCH_BATCH || 500), memoryRecords: MEMORY_RECORDS, memoryHeapMb: MEMORY_HEAP_MB, only: only ? [...only] : undefined, dist: distIndex },
      elapsedS,
      report,
      runs,
    },
    null,
    2,
  ) + '\n',
);
console.log(`Raw results: ${out}`);
process.exitCode = failures.length > 0 || (lookupRun && !lookupRun.result) ? 1 : 0;

// ── helpers ───────────────────────────────────────────────────────────────────────────────────────

function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmtNum(value, digits) {
  return value === undefined ? '—' : value.toFixed(digits);
}

function fmtMs(value) {
  return value === undefined ? '—' : value.toFixed(0);
}

function fmtCount(n) {
  return n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (cells) => '  ' + cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [fmt(header), '  ' + widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}
