/**
 * The webhook promise under SIGKILL: a child serves the intake (SQLite stores) and drains the inbox into a
 * ledger table; a sender posts 1,000 payment events, each delivered 1–3 times in random order, retrying
 * on anything but a 2xx; the child is killed at random instants and right after an inbox write before its
 * answer, and restarted until the sender is done. Then the inbox must hold each event exactly once and the
 * ledger exactly one effect per event — and no secret or signature may show up anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LeaseHeldError, type InboxEntry } from '../../src/index.js';
import { sqliteStores } from '../../src/sqlite/index.js';
import { signStandardWebhook } from '../../src/webhooks/index.js';
import { INBOX, PIPELINE_ID, ledgerPipeline, openSink, type CrashChildConfig } from './crash-child.js';

const EVENTS = 1000;
const RANDOM_KILLS = 20;
/** Children (by start index) that kill themselves after their n-th inbox append, before answering. */
const DIE_AFTER_APPEND: ReadonlyMap<number, number> = new Map([
  [0, 60],
  [7, 25],
  [15, 10],
]);
/** The sender takes on its deliveries in this many equal shares, one more after each kill, so kills land throughout. */
const SHARES = RANDOM_KILLS + DIE_AFTER_APPEND.size + 1;
const FORGED = 40;
const DEADLINE_MS = 50_000;
const SEED = 20_260_115;

let dir = '';
let script = '';

beforeAll(async () => {
  const cache = fileURLToPath(new URL('../../node_modules/.cache', import.meta.url));
  mkdirSync(cache, { recursive: true });
  dir = mkdtempSync(join(cache, 'syncline-webhook-crash-'));
  script = join(dir, 'child.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./crash-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile: script,
    packages: 'external',
    logLevel: 'error',
  });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Child {
  readonly process: ChildProcess;
  readonly port: Promise<number>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(config: CrashChildConfig, logs: string[]): Child {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, SYNCLINE_WEBHOOK_CRASH: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let resolvePort: (port: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const ready = /"kind":"ready","port":(\d+)/.exec(stdout);
    if (ready) resolvePort(Number(ready[1]));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Bounded: a child that hangs is a failure, not a stuck run.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      logs.push(stdout, stderr);
      resolvePort(0);
      resolve({ code, signal });
    });
  });
  return { process: child, port, exit };
}

interface SenderStats {
  attempts: number;
  ok: number;
  duplicateAnswers: number;
  non2xx: number;
  connectionErrors: number;
  rejectedForgeries: number;
  errors: string[];
}

function post(agent: Agent, port: number, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/webhooks/payments', headers, agent, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

it(
  `${EVENTS} webhook events, delivered 1–3 times each, survive ${RANDOM_KILLS} random SIGKILLs and kills between inbox write and answer: 0 lost, 0 duplicates`,
  async () => {
    const started = Date.now();
    const random = mulberry32(SEED);
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const wrongSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const statePath = join(dir, 'state.db');
    const sinkPath = join(dir, 'sink.db');
    const signatures = new Set<string>();
    const logs: string[] = [];

    // The workload: each event 1–3 times, shuffled; plus forged deliveries that must be refused.
    const bodies = Array.from({ length: EVENTS }, (_, i) =>
      JSON.stringify({ type: 'payment.succeeded', data: { id: `pay_${String(i).padStart(4, '0')}`, amount: 100 + i } }),
    );
    type Delivery = { readonly event: number; readonly forged?: 'wrong-secret' | 'tampered' };
    const queue: Delivery[] = [];
    for (let event = 0; event < EVENTS; event++) {
      const times = 1 + Math.floor(random() * 3);
      for (let k = 0; k < times; k++) queue.push({ event });
    }
    for (let k = 0; k < FORGED; k++) queue.push({ event: Math.floor(random() * EVENTS), forged: k % 2 === 0 ? 'wrong-secret' : 'tampered' });
    for (let i = queue.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [queue[i], queue[j]] = [queue[j]!, queue[i]!];
    }
    const deliveries = queue.length;

    let port = 0;
    let senderDone = false;
    const stats: SenderStats = { attempts: 0, ok: 0, duplicateAnswers: 0, non2xx: 0, connectionErrors: 0, rejectedForgeries: 0, errors: [] };
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const duplicateIds = new Set<string>();

    const deliver = async (delivery: Delivery): Promise<void> => {
      const webhookId = `msg_${String(delivery.event).padStart(4, '0')}`;
      for (;;) {
        if (Date.now() - started > DEADLINE_MS) throw new Error(`sender gave up on ${webhookId} after ${DEADLINE_MS} ms`);
        // Like a real sender, every attempt is signed anew with the current time.
        const timestamp = Math.floor(Date.now() / 1000);
        const body = delivery.forged === 'tampered' ? bodies[delivery.event]!.replace('"amount":', '"amount":9') : bodies[delivery.event]!;
        const signature = signStandardWebhook(delivery.forged === 'wrong-secret' ? wrongSecret : secret, webhookId, timestamp, bodies[delivery.event]!);
        signatures.add(signature.slice(3));
        const headers = {
          'content-type': 'application/json',
          'user-agent': 'crash-test-sender/1.0',
          'webhook-id': webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
        };
        stats.attempts++;
        try {
          const answer = await post(agent, port, headers, body);
          if (delivery.forged) {
            expect(answer.status).toBe(401);
            stats.rejectedForgeries++;
            return;
          }
          if (answer.status >= 200 && answer.status < 300) {
            stats.ok++;
            if ((JSON.parse(answer.body) as { duplicate: boolean }).duplicate) {
              stats.duplicateAnswers++;
              duplicateIds.add(webhookId);
            }
            return;
          }
          stats.non2xx++;
        } catch (error) {
          stats.connectionErrors++;
          stats.errors.push((error as Error).message);
        }
        await sleep(2 + Math.floor(random() * 10));
      }
    };

    let kills = 0;
    let taken = 0;
    const sender = (async () => {
      const workers = Array.from({ length: 16 }, async () => {
        for (;;) {
          // Spread the work over the kills: without this, a fast machine finishes before the last kill.
          while (queue.length > 0 && taken >= Math.ceil((deliveries * (kills + 1)) / SHARES)) {
            if (Date.now() - started > DEADLINE_MS) throw new Error('sender starved: the kills stopped coming');
            await sleep(2);
          }
          const next = queue.shift();
          if (!next) return;
          taken++;
          await deliver(next);
        }
      });
      try {
        await Promise.all(workers);
      } finally {
        senderDone = true;
      }
    })();

    // Start, kill, restart until the sender is done.
    let stopMs = 0;
    let randomKills = 0;
    let restarts = 0;
    const dieLogs: string[] = [];
    for (let index = 0; !senderDone; index++) {
      if (Date.now() - started > DEADLINE_MS) throw new Error('the crash loop did not finish in time');
      const dieAfterAppend = DIE_AFTER_APPEND.get(index);
      const child = startChild({ statePath, sinkPath, secret, ...(dieAfterAppend === undefined ? {} : { dieAfterAppend }) }, logs);
      if (index > 0) restarts++;
      port = await child.port;
      const finished = Promise.race([sender.then(() => 'sender' as const, () => 'sender' as const), child.exit.then(() => 'exit' as const)]);
      if (dieAfterAppend === undefined && randomKills < RANDOM_KILLS) {
        const outcome = await Promise.race([finished, sleep(30 + Math.floor(random() * 200)).then(() => 'timer' as const)]);
        if (outcome === 'timer') {
          child.process.kill('SIGKILL');
          randomKills++;
        }
      } else {
        await finished;
      }
      if (!senderDone) kills++;
      const stopAt = Date.now();
      if (child.process.exitCode === null && child.process.signalCode === null && senderDone) child.process.kill('SIGTERM');
      const exit = await child.exit;
      if (senderDone) stopMs = Date.now() - stopAt;
      if (exit.signal === 'SIGKILL' && dieAfterAppend !== undefined) dieLogs.push(logs.at(-2) ?? '');
      if (!senderDone) expect(exit.signal, `child ${index} ended on its own: ${logs.at(-1)}`).toBe('SIGKILL');
      else expect(exit.code === 0 || exit.signal === 'SIGKILL', `child ${index}: ${JSON.stringify(exit)} ${logs.at(-1)}`).toBe(true);
    }
    await sender;
    agent.destroy();

    // The final drain, as the next process would do it: the same pipeline, run to the end of the inbox.
    const stores = sqliteStores({ path: statePath });
    const sink = openSink(sinkPath);
    const ledger = ledgerPipeline(stores, sink);
    const drainEvents: string[] = [];
    ledger.on('dead-letter', (d) => drainEvents.push(JSON.stringify(d)));
    ledger.on('retry', (e) => drainEvents.push(`${e.operation} ${e.error.message}`));
    let drained;
    const drainAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        drained = await ledger.run();
        break;
      } catch (error) {
        // Only a killed child's lease can be in the way, and it expires within its 1 s TTL.
        if (!(error instanceof LeaseHeldError) || attempt > 100) throw error;
        await sleep(25);
      }
    }
    const drainMs = Date.now() - drainAt;

    // The inbox: every event exactly once, bodies exactly as sent.
    const entries: InboxEntry[] = [];
    for (let after = 0; ; ) {
      const page = await stores.inbox.read(INBOX, after, 500);
      if (page.length === 0) break;
      entries.push(...page);
      after = page.at(-1)!.seq;
    }
    const ids = new Set(entries.map((e) => e.id));
    expect(entries).toHaveLength(EVENTS);
    expect(ids.size).toBe(EVENTS);
    for (const entry of entries) expect(entry.body).toBe(bodies[Number(entry.id.slice(4))]);
    expect(entries.every((e) => e.headers['webhook-signature'] === undefined)).toBe(true);

    // The ledger: one effect per event, none lost, none twice.
    const rows = sink.prepare('SELECT webhook_id, payment_id, amount FROM ledger').all() as { webhook_id: string; payment_id: string; amount: number }[];
    const deliveredToSink = Number((sink.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n);
    const payments = new Set(rows.map((r) => r.payment_id));
    const lost = [...ids].filter((id) => !rows.some((r) => r.webhook_id === id)).length;
    expect(rows).toHaveLength(EVENTS);
    expect(payments.size).toBe(EVENTS);
    expect(lost).toBe(0);
    for (const r of rows) expect(r.amount).toBe(100 + Number(r.payment_id.slice(4)));
    expect(await stores.deadLetters.count(PIPELINE_ID)).toBe(0);
    expect((await stores.checkpoints.load(PIPELINE_ID))?.cursor).toEqual({ seq: Math.max(...entries.map((e) => e.seq)) });
    expect(await stores.checkIntegrity()).toEqual([]);

    // The kills that matter most happened: after an inbox write, before the answer.
    expect(randomKills).toBe(RANDOM_KILLS);
    const diedOn = dieLogs.map((l) => (/"kind":"die","after":"inbox-append","id":"([^"]+)"/.exec(l) ?? [])[1]);
    expect(diedOn).toHaveLength(DIE_AFTER_APPEND.size);
    for (const id of diedOn) {
      // Stored, unanswered, killed: the retry found it in the inbox, and it is there once.
      expect(id && duplicateIds.has(id), `retry of ${id}`).toBe(true);
      expect(entries.filter((e) => e.id === id)).toHaveLength(1);
    }
    expect(stats.rejectedForgeries).toBe(FORGED);
    expect(stats.ok).toBe(deliveries - FORGED);

    // Canary: no secret and no signature anywhere syncline writes or says something.
    const audit = await stores.audit.query({ limit: 1_000_000 });
    const rejections = audit.filter((e) => e.error?.code === 'WEBHOOK_REJECTED');
    expect(rejections.length).toBeGreaterThanOrEqual(FORGED);
    const deadLetters = await stores.deadLetters.list(PIPELINE_ID, { limit: 10_000 });
    const texts = [
      JSON.stringify(audit),
      JSON.stringify(deadLetters),
      JSON.stringify(entries),
      ...logs,
      ...drainEvents,
      JSON.stringify(drained),
      stats.errors.join('\n'),
    ];
    const secretParts = [secret, secret.slice('whsec_'.length), wrongSecret, wrongSecret.slice('whsec_'.length)];
    const hitsIn = (text: string): number => {
      let found = secretParts.filter((part) => text.includes(part)).length;
      for (const token of text.match(/[A-Za-z0-9+/]{43}=/g) ?? []) if (signatures.has(token)) found++;
      return found;
    };
    // The scanner finds what it looks for: one secret and one signature planted in a log line.
    expect(hitsIn(`{"note":"${secret.slice(6)}","sig":"v1,${[...signatures][0]}"}`)).toBe(2);
    let hits = 0;
    let scanned = 0;
    for (const text of texts) {
      scanned += text.length;
      hits += hitsIn(text);
    }
    expect(hits).toBe(0);

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      [
        `webhook crash test (seed ${SEED}): ${EVENTS} events, ${deliveries - FORGED} deliveries + ${FORGED} forged, ${seconds} s`,
        `  kills: ${randomKills} random + ${dieLogs.length} after inbox write before answer (${diedOn.join(', ')}); restarts ${restarts}`,
        `  sender: ${stats.attempts} attempts, ${stats.ok} answered 2xx (${stats.duplicateAnswers} as duplicates), ${stats.non2xx} non-2xx, ${stats.connectionErrors} connection errors/resets, ${stats.rejectedForgeries} forgeries refused`,
        `  inbox: ${entries.length} entries, ${ids.size} distinct; ledger: ${rows.length} effects, ${payments.size} distinct payments, lost 0, duplicate effects ${rows.length - payments.size}`,
        `  sink deliveries: ${deliveredToSink} (re-deliveries absorbed by the idempotent insert: ${deliveredToSink - rows.length}); final drain read ${drained.read} in ${drainMs} ms; last child stopped ${stopMs} ms after SIGTERM`,
        `  canary: ${signatures.size} signatures + 2 secrets over ${texts.length} texts (${scanned} chars: ${audit.length} audit rows incl. ${rejections.length} rejections, ${deadLetters.length} dead letters, child logs and events): ${hits} hits`,
      ].join('\n'),
    );
    sink.close();
    await stores.close();
  },
  90_000,
);
