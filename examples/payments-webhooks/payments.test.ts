import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ACME_EVENTS, formatReport, MALFORMED_STRIPE_EVENT, runPaymentsExample, STRIPE_EVENTS } from './scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'syncline-payments-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('books every payment once through endpoint and ledger outages, replays and a forgery, and traces one payment', async () => {
  const result = await runPaymentsExample(dir);

  // Intake: every event stored once; the replay stored nothing; the forgery was refused.
  expect(result.intake.acme).toEqual({ accepted: ACME_EVENTS, duplicates: ACME_EVENTS, rejected: {} });
  expect(result.intake.stripe).toEqual({ accepted: STRIPE_EVENTS, duplicates: 0, rejected: { 'bad-signature': 1 } });
  expect(result.deliveries.acme.every((d) => d.status === 200)).toBe(true);
  expect(result.deliveries.acme.some((d) => d.attempts > 1)).toBe(true); // the endpoint outage was felt and ridden out
  expect(result.deliveries.forged.status).toBe(401);
  expect(result.inboxEntries).toBe(ACME_EVENTS + STRIPE_EVENTS);

  // Pipeline: nothing silent, the ledger outage retried, the malformed event dead-lettered with its issue.
  const s = result.summary;
  expect(s.read).toBe(s.written + s.skipped + s.deadLettered + s.inFlight);
  expect(s).toMatchObject({ read: ACME_EVENTS + STRIPE_EVENTS, written: ACME_EVENTS + STRIPE_EVENTS - 1, deadLettered: 1, inFlight: 0 });
  expect(s.retries).toBeGreaterThanOrEqual(3);
  expect(result.alerts.filter((a) => a.includes('locked for maintenance'))).toHaveLength(3);
  expect(result.deadLetters).toHaveLength(1);
  expect(result.deadLetters[0]).toMatchObject({ key: `stripe:evt_000${MALFORMED_STRIPE_EVENT}`, step: 'parse' });
  expect(result.deadLetters[0]?.error.issues?.[0]?.path).toEqual(['data', 'object', 'amount']);

  // Ledger: one booking per payment.
  expect(result.ledger.rows).toBe(ACME_EVENTS + STRIPE_EVENTS - 1);
  expect(result.ledger.payments).toBe(result.ledger.rows);

  // The trace tells the story of the first payment: received, ledger retried, booked, replay answered without a copy.
  const story = result.trace.events.map((e) => `${e.pipelineId} ${e.type}${e.reason ? ` ${e.reason}` : ''}`);
  expect(result.trace.key).toBe('acme:msg_0001');
  expect(story[0]).toBe('webhooks:acme written');
  expect(story).toContain('webhooks:acme skipped duplicate');
  // The booking came after the retries the ledger outage caused; the replay may land before or after it.
  const ledger = story.filter((line) => line.startsWith('payments-ledger'));
  expect(ledger.at(-1)).toBe('payments-ledger written');
  expect(ledger.slice(0, -1).every((line) => line === 'payments-ledger retried')).toBe(true);
  expect(ledger.length).toBeGreaterThanOrEqual(2);

  const report = formatReport(result);
  expect(report).toContain('Trace of acme:msg_0001 (');
  expect(report).not.toMatch(/whsec_|v1,|t=\d+,v1=/);
});
