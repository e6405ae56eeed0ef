import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, MemoryAuditStore, MemoryInboxStore, type InboxStore } from '../../src/index.js';
import { FakeClock } from '../../src/testing/index.js';
import { REJECTION_STATUS, webhookIntake, type WebhookIntakeOptions } from '../../src/webhooks/index.js';
import { signStandardWebhook, standardWebhooks } from '../../src/webhooks/index.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;

function setup(overrides: Partial<WebhookIntakeOptions> = {}) {
  const clock = new FakeClock({ now: NOW });
  const inbox = new MemoryInboxStore();
  const audit = new MemoryAuditStore();
  const intake = webhookIntake({ inbox, name: 'payments', verifier: standardWebhooks({ secrets: [secret], clock }), audit, clock, ...overrides });
  const events = { accepted: [] as unknown[], rejected: [] as { reason: string; status: number }[], failed: [] as { operation: string; error: Error }[] };
  intake.on('accepted', (e) => events.accepted.push(e));
  intake.on('rejected', (e) => events.rejected.push(e));
  intake.on('failed', (e) => events.failed.push(e));
  return { clock, inbox, audit, intake, events };
}

function signed(id: string, body: string | Uint8Array, options: { secret?: string; at?: number; extra?: Record<string, string> } = {}) {
  const timestamp = Math.floor((options.at ?? NOW) / 1000);
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Svix-Webhooks/1.0',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signStandardWebhook(options.secret ?? secret, id, timestamp, body),
      ...options.extra,
    },
    body,
  };
}

describe('webhookIntake: persist before 2xx', () => {
  it('stores a verified delivery with its raw body and only the allow-listed headers, then answers 200', async () => {
    const { intake, inbox, audit, events } = setup();
    // Odd spacing and key order: re-serialized JSON would not match the signature nor the stored text.
    const body = '{ "type":"payment.succeeded",  "data": {"id":"pay_1","amount":1250} }';
    const response = await intake.handle(signed('msg_1', body));

    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ received: true, duplicate: false });
    const [entry] = await inbox.read('payments', 0, 10);
    expect(entry).toMatchObject({ id: 'msg_1', seq: 1, receivedAt: NOW, body });
    expect(entry?.headers).toEqual({ 'content-type': 'application/json', 'user-agent': 'Svix-Webhooks/1.0', 'webhook-timestamp': String(NOW / 1000) });
    expect(JSON.stringify(entry)).not.toContain('v1,');
    expect(await audit.query({ pipelineId: 'webhooks:payments' })).toEqual([
      expect.objectContaining({ type: 'written', key: 'msg_1', ref: { inbox: 'payments', seq: 1 }, runId: intake.runId, at: NOW }),
    ]);
    expect(events.accepted).toEqual([{ inbox: 'payments', id: 'msg_1', seq: 1, duplicate: false }]);
  });

  it('answers a redelivery 200 and stores nothing new', async () => {
    const { intake, inbox, audit } = setup();
    const body = '{"type":"payment.succeeded"}';
    await intake.handle(signed('msg_1', body));
    const again = await intake.handle(signed('msg_1', body));

    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
    expect(await inbox.read('payments', 0, 10)).toHaveLength(1);
    const rows = await audit.query({ pipelineId: 'webhooks:payments', key: 'msg_1' });
    expect(rows.map((r) => [r.type, r.reason])).toEqual([
      ['written', undefined],
      ['skipped', 'duplicate'],
    ]);
  });

  it('keeps two providers apart in one inbox with id prefixes', async () => {
    const clock = new FakeClock({ now: NOW });
    const inbox = new MemoryInboxStore();
    const verifier = standardWebhooks({ secrets: [secret], clock });
    const acme = webhookIntake({ inbox, name: 'payments', idPrefix: 'acme:', verifier, clock });
    const beta = webhookIntake({ inbox, name: 'payments', idPrefix: 'beta:', verifier, clock });
    // The same raw id from two senders is two events, not a redelivery.
    expect(JSON.parse((await acme.handle(signed('msg_1', '{"n":1}'))).body)).toEqual({ received: true, duplicate: false });
    expect(JSON.parse((await beta.handle(signed('msg_1', '{"n":2}'))).body)).toEqual({ received: true, duplicate: false });
    expect(JSON.parse((await acme.handle(signed('msg_1', '{"n":1}'))).body)).toEqual({ received: true, duplicate: true });
    expect((await inbox.read('payments', 0, 10)).map((e) => [e.id, e.body])).toEqual([
      ['acme:msg_1', '{"n":1}'],
      ['beta:msg_1', '{"n":2}'],
    ]);
  });

  it('keeps the exact bytes: a byte-order mark and non-ASCII text survive', async () => {
    const { intake, inbox } = setup();
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('{"name":"Zoë ☕"}')]);
    expect((await intake.handle(signed('msg_bom', bytes))).status).toBe(200);
    const [entry] = await inbox.read('payments', 0, 10);
    expect(Buffer.from(entry!.body, 'utf8')).toEqual(Buffer.from(bytes));
  });

  it('answers 503 when the inbox append fails, so the sender retries; the retry is stored once', async () => {
    const memory = new MemoryInboxStore();
    let down = true;
    const inbox: InboxStore = {
      append: (name, message, signal) => (down ? Promise.reject(new Error('SQLITE_BUSY: database is locked')) : memory.append(name, message, signal)),
      read: (name, after, limit, signal) => memory.read(name, after, limit, signal),
      prune: (name, through, before, signal) => memory.prune(name, through, before, signal),
    };
    const { intake, events, audit } = setup({ inbox });
    const request = signed('msg_1', '{"a":1}');

    const failed = await intake.handle(request);
    expect(failed.status).toBe(503);
    expect(failed.body).not.toContain('SQLITE');
    expect(events.failed).toEqual([expect.objectContaining({ operation: 'inbox.append', id: 'msg_1' })]);
    expect(await memory.read('payments', 0, 10)).toEqual([]);
    expect(await audit.query({ pipelineId: 'webhooks:payments' })).toEqual([]);

    down = false;
    expect((await intake.handle(request)).status).toBe(200);
    expect((await intake.handle(request)).status).toBe(200);
    expect(await memory.read('payments', 0, 10)).toHaveLength(1);
  });

  it('still answers 200 when only the audit write fails: the event is safe in the inbox', async () => {
    const audit = { write: () => Promise.reject(new Error('audit down')), query: () => Promise.resolve([]), deleteOlderThan: () => Promise.resolve(0) };
    const { intake, inbox, events } = setup({ audit });
    expect((await intake.handle(signed('msg_1', '{}'))).status).toBe(200);
    expect(await inbox.read('payments', 0, 10)).toHaveLength(1);
    expect(events.failed.map((e) => e.operation)).toEqual(['audit.write']);
  });
});

describe('webhookIntake: rejections are 4xx, audited with a reason code, and store nothing', () => {
  const body = '{"type":"payment.succeeded","data":{"id":"pay_1"}}';
  const cases: readonly { name: string; reason: string; status: number; request: () => ReturnType<typeof signed> }[] = [
    { name: 'a wrong secret', reason: 'bad-signature', status: 401, request: () => signed('msg_1', body, { secret: otherSecret }) },
    {
      name: 'a changed body',
      reason: 'bad-signature',
      status: 401,
      request: () => ({ ...signed('msg_1', body), body: body.replace('pay_1', 'pay_2') }),
    },
    {
      name: 'no signature header',
      reason: 'missing-header',
      status: 401,
      request: () => {
        const r = signed('msg_1', body);
        const { 'webhook-signature': _dropped, ...headers } = r.headers;
        return { ...r, headers: headers as typeof r.headers };
      },
    },
    { name: 'a timestamp 6 minutes old', reason: 'stale', status: 401, request: () => signed('msg_1', body, { at: NOW - 360_000 }) },
    { name: 'a timestamp 6 minutes ahead', reason: 'future', status: 401, request: () => signed('msg_1', body, { at: NOW + 360_000 }) },
    {
      name: 'a timestamp in milliseconds',
      reason: 'malformed',
      status: 400,
      request: () => {
        const r = signed('msg_1', body);
        return { ...r, headers: { ...r.headers, 'webhook-timestamp': String(NOW) } };
      },
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.reason}`, async () => {
      const { intake, inbox, audit, events } = setup();
      const request = c.request();
      const response = await intake.handle(request);

      expect(response.status).toBe(c.status);
      expect(REJECTION_STATUS[c.reason as keyof typeof REJECTION_STATUS]).toBe(c.status);
      expect(JSON.parse(response.body)).toEqual({ error: c.reason });
      expect(await inbox.read('payments', 0, 10)).toEqual([]);
      const rows = await audit.query({ pipelineId: 'webhooks:payments' });
      expect(rows).toEqual([
        expect.objectContaining({
          type: 'skipped',
          reason: c.reason,
          error: expect.objectContaining({ name: 'WebhookVerificationError', code: 'WEBHOOK_REJECTED', status: c.status }),
        }),
      ]);
      expect(events.rejected).toEqual([expect.objectContaining({ inbox: 'payments', reason: c.reason, status: c.status, userAgent: 'Svix-Webhooks/1.0' })]);
      // Neither the signature nor the body reaches the audit row or the answer.
      const signature = (request.headers as Record<string, string>)['webhook-signature'];
      for (const text of [JSON.stringify(rows), response.body]) {
        if (signature) expect(text).not.toContain(signature.slice(3));
        expect(text).not.toContain('pay_1');
      }
    });
  }

  it('a body over maxBodyBytes → 413 too-large, before verification', async () => {
    const { intake, inbox, audit } = setup({ maxBodyBytes: 64 });
    const response = await intake.handle(signed('msg_1', 'x'.repeat(65)));
    expect(response.status).toBe(413);
    expect(await inbox.read('payments', 0, 10)).toEqual([]);
    expect(await audit.query({})).toEqual([expect.objectContaining({ type: 'skipped', reason: 'too-large' })]);
    expect((await intake.handle(signed('msg_2', 'x'.repeat(64)))).status).toBe(200);
  });

  it('a signed body that is not UTF-8 → 400 malformed (the inbox stores text)', async () => {
    const { intake, inbox, audit } = setup();
    const response = await intake.handle(signed('msg_1', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])));
    expect(response.status).toBe(400);
    expect(await inbox.read('payments', 0, 10)).toEqual([]);
    expect(await audit.query({})).toEqual([expect.objectContaining({ reason: 'malformed', key: 'msg_1' })]);
  });

  it('answers anything but POST with 405 and does not audit it', async () => {
    const { intake, audit } = setup();
    const response = await intake.handle({ method: 'GET', headers: {}, body: '' });
    expect(response).toMatchObject({ status: 405, headers: { allow: 'POST' } });
    expect(await audit.query({})).toEqual([]);
  });

  it('a verifier that throws something else (a bug) → 500 and a failed event, nothing stored', async () => {
    const { intake, inbox, events } = setup({
      verifier: {
        scheme: 'broken',
        verify: () => {
          throw new TypeError('cannot read properties of undefined');
        },
      },
    });
    expect((await intake.handle(signed('msg_1', '{}'))).status).toBe(500);
    expect(await inbox.read('payments', 0, 10)).toEqual([]);
    expect(events.failed.map((e) => e.operation)).toEqual(['verify']);
  });

  it('a verified but unusable event id (control characters) → 400 malformed', async () => {
    const { intake } = setup({ verifier: { scheme: 'test', verify: () => ({ id: 'evt\n1' }) } });
    expect((await intake.handle({ method: 'POST', headers: {}, body: '{}' })).status).toBe(400);
  });
});

describe('webhookIntake options fail at startup', () => {
  const base = () => ({ inbox: new MemoryInboxStore(), name: 'payments', verifier: standardWebhooks({ secrets: secret }) });

  it('refuses to keep a signature or credential header', () => {
    for (const header of ['webhook-signature', 'Stripe-Signature', 'x-hub-signature-256', 'X-Shopify-Hmac-Sha256', 'authorization', 'cookie', 'x-api-key']) {
      expect(() => webhookIntake({ ...base(), keepHeaders: ['content-type', header] })).toThrow(InvalidOptionsError);
    }
    expect(() => webhookIntake({ ...base(), keepHeaders: ['webhook-signature'] })).toThrow(/keepHeaders.*`webhook-signature`/);
  });

  it('has no unverified mode: a missing verifier is an error', () => {
    const { verifier: _none, ...rest } = base();
    expect(() => webhookIntake(rest as unknown as WebhookIntakeOptions)).toThrow(/`webhookIntake\.verifier`.*WebhookVerifier/);
  });

  it('checks the inbox name and the size limit', () => {
    expect(() => webhookIntake({ ...base(), name: '' })).toThrow(/`webhookIntake\.name`/);
    expect(() => webhookIntake({ ...base(), maxBodyBytes: 0 })).toThrow(/`webhookIntake\.maxBodyBytes`/);
  });

  it('stores header names lower-case and defaults the audit id to webhooks:<name>', () => {
    const intake = webhookIntake({ ...base(), keepHeaders: ['X-GitHub-Event', 'Content-Type'] });
    expect(intake.keepHeaders).toEqual(['x-github-event', 'content-type']);
    expect(intake.auditId).toBe('webhooks:payments');
    expect(intake.maxBodyBytes).toBe(1_048_576);
  });
});
