import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { sqliteStores } from '../../src/sqlite/index.js';
import { useTempFiles } from './support.js';

const nextFile = useTempFiles('sqlite-threads');
const entry = fileURLToPath(new URL('../../src/sqlite/index.ts', import.meta.url));

/**
 * Lets plain Node load the TypeScript sources: Node strips the types itself, and this hook maps the
 * sources' `./x.js` imports to `./x.ts`.
 */
const loadSources = `
const { registerHooks } = require('node:module');
registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (error) {
      if (specifier.endsWith('.js') && context.parentURL && context.parentURL.endsWith('.ts')) return next(specifier.slice(0, -3) + '.ts', context);
      throw error;
    }
  },
});
`;

/**
 * Runs in each worker thread: its own `node:sqlite` connection to the file, like another process.
 * All workers wait on a shared barrier, then race.
 */
const workerCode = `${loadSources}
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { sqliteStores } = await import(workerData.entry);
  const stores = sqliteStores({ path: workerData.file, busyTimeoutMs: 10000 });
  await stores.migrate();
  const barrier = new Int32Array(workerData.barrier);
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  Atomics.wait(barrier, 1, 0);
  const leases = [];
  for (const pipelineId of workerData.pipelines) {
    try {
      await stores.checkpoints.acquireLease(pipelineId, workerData.name, 60000);
      leases.push(pipelineId);
    } catch (error) {
      if (error.code !== 'LEASE_HELD') throw error;
    }
  }
  let increments = 0;
  for (let done = 0, tries = 0; done < workerData.increments && tries < 100000; tries++) {
    const current = await stores.kv.get('counters', 'shared');
    const value = current ? current.value : 0;
    const result = await stores.kv.set('counters', 'shared', value + 1, { ifVersion: current ? current.version : 0 });
    if (result.ok) { done++; increments++; }
  }
  const seqs = [];
  for (let i = 0; i < workerData.appends; i++) {
    seqs.push((await stores.inbox.append('hooks', { id: workerData.name + '-' + i, receivedAt: 0, headers: {}, body: '' })).seq);
  }
  await stores.close();
  parentPort.postMessage({ leases, increments, seqs });
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

interface WorkerResult {
  readonly leases: string[];
  readonly increments: number;
  readonly seqs: number[];
  readonly error?: string;
}

describe('sqliteStores: several connections in parallel threads on one file', () => {
  it('grants each lease to exactly one, loses no compare-and-set increment, and never repeats an inbox seq', async () => {
    const file = nextFile();
    await sqliteStores({ path: file }).migrate();
    const workers = 4;
    const pipelines = Array.from({ length: 25 }, (_, i) => `pipeline-${i}`);
    const barrier = new SharedArrayBuffer(8);
    const flags = new Int32Array(barrier);
    const running = Array.from({ length: workers }, (_, i) => {
      const worker = new Worker(workerCode, {
        eval: true,
        workerData: { entry, file, barrier, name: `worker-${i}`, pipelines, increments: 25, appends: 25 },
      });
      return new Promise<WorkerResult>((resolve, reject) => {
        worker.once('message', (result: WorkerResult) => {
          void worker.terminate();
          if (result.error) reject(new Error(result.error));
          else resolve(result);
        });
        worker.once('error', reject);
      });
    });
    // Release the workers together once all have opened the file (bounded wait: 20 s).
    for (let waited = 0; Atomics.load(flags, 0) < workers; waited++) {
      if (waited > 2_000) throw new Error('workers did not start');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    const results = await Promise.all(running);

    const granted = results.flatMap((r) => r.leases).sort();
    expect(granted).toEqual([...pipelines].sort());
    expect(results.reduce((sum, r) => sum + r.increments, 0)).toBe(workers * 25);
    const stores = sqliteStores({ path: file });
    expect(await stores.kv.get('counters', 'shared')).toEqual({ value: workers * 25, version: workers * 25 });
    const seqs = results.flatMap((r) => r.seqs);
    expect(new Set(seqs).size).toBe(workers * 25);
    expect((await stores.inbox.read('hooks', 0, 1_000)).map((e) => e.seq)).toEqual([...seqs].sort((a, b) => a - b));
    expect(await stores.checkIntegrity()).toEqual([]);
    await stores.close();
  }, 30_000);
});

/**
 * A child process that commits a checkpoint and writes an audit event in a loop, and reports each
 * version on stdout once both resolved (stdout to a pipe is synchronous on Linux and macOS).
 */
const committerCode = `${loadSources}
(async () => {
  const [entry, file] = process.argv.slice(1);
  const { sqliteStores } = await import(entry);
  const stores = sqliteStores({ path: file });
  const lease = await stores.checkpoints.acquireLease('crash', 'child', 3600000);
  for (let version = 0; version < 1000000; version++) {
    await stores.checkpoints.commit(lease, { cursor: { offset: version + 1 }, expectedVersion: version, runId: 'run-1' });
    await stores.audit.write([{ at: version, pipelineId: 'crash', runId: 'run-1', type: 'written', key: 'k' + version }]);
    process.stdout.write(version + 1 + '\\n');
  }
})();
`;

describe('sqliteStores: a process killed with SIGKILL (synchronous: normal)', () => {
  it('loses no commit or audit event whose promise had resolved, and leaves a sound file', async () => {
    const file = nextFile();
    await sqliteStores({ path: file }).migrate();
    const child = spawn(process.execPath, ['-e', committerCode, entry, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acknowledged = 0;
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child acknowledged only ${acknowledged} commits in 20 s: ${stderr}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) acknowledged = Math.max(acknowledged, Number(line));
        if (acknowledged >= 300 && !child.killed) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('close', () => reject(new Error(`the child exited early: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const stores = sqliteStores({ path: file });
    const checkpoint = await stores.checkpoints.load('crash');
    expect(checkpoint?.version).toBeGreaterThanOrEqual(acknowledged);
    expect(checkpoint?.cursor).toEqual({ offset: checkpoint?.version });
    const events = await stores.audit.query({ pipelineId: 'crash', limit: 1_000_000 });
    expect(events.length).toBeGreaterThanOrEqual(acknowledged);
    expect(events.slice(0, acknowledged).map((e) => e.key)).toEqual(Array.from({ length: acknowledged }, (_, i) => `k${i}`));
    expect(await stores.checkIntegrity()).toEqual([]);
    await stores.close();
  }, 30_000);
});
