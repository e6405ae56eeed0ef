import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryAuditStore, MemoryInboxStore } from '../../src/index.js';
import { fetchHandler, nodeHandler, signStandardWebhook, standardWebhooks, webhookIntake, type WebhookFailedEvent } from '../../src/webhooks/index.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function setup(maxBodyBytes = 64 * 1024) {
  const inbox = new MemoryInboxStore();
  const audit = new MemoryAuditStore();
  const intake = webhookIntake({ inbox, name: 'payments', verifier: standardWebhooks({ secrets: secret }), audit, maxBodyBytes });
  const failed: WebhookFailedEvent[] = [];
  intake.on('failed', (e) => failed.push(e));
  return { inbox, audit, intake, failed };
}

function signedHeaders(id: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(secret, id, timestamp, body),
  };
}

async function listen(listener: RequestListener): Promise<number> {
  const server = createServer(listener);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Tracks how the handler left each request: whether its body was read to the end. */
function tracked(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  const seen: { complete: boolean; readableEnded: boolean }[] = [];
  const settled: Promise<void>[] = [];
  const listener: RequestListener = (req, res) => {
    settled.push(handler(req, res).then(() => void seen.push({ complete: req.complete, readableEnded: req.readableEnded })));
  };
  return { listener, seen, settled };
}

function post(port: number, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/webhooks', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('nodeHandler', () => {
  it('serves node:http: a verified POST is stored before the 200, a redelivery stores nothing new', async () => {
    const { intake, inbox } = setup();
    const port = await listen(nodeHandler(intake));
    const body = '{"type":"payment.succeeded","data":{"id":"pay_1"}}';
    const headers = signedHeaders('msg_1', body);

    expect(await post(port, headers, body)).toEqual({ status: 200, body: '{"received":true,"duplicate":false}' });
    expect(await post(port, headers, body)).toEqual({ status: 200, body: '{"received":true,"duplicate":true}' });
    expect((await inbox.read('payments', 0, 10)).map((e) => e.body)).toEqual([body]);
    expect((await post(port, { ...headers, 'webhook-signature': 'v1,AAAA' }, body)).status).toBe(401);
  });

  it('answers 413 for a Content-Length over the limit without reading the body, and closes the connection', async () => {
    const { intake, inbox, audit } = setup(1024);
    const { listener, seen, settled } = tracked(nodeHandler(intake));
    const port = await listen(listener);
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/webhooks',
      headers: { ...signedHeaders('msg_big', 'x'), 'content-length': String(50 * 1024 * 1024) },
    });
    req.on('error', () => undefined);
    req.write('x'.repeat(100)); // 100 of the 50 MiB announced; the rest never comes
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    res.resume();
    await once(res, 'end');

    expect(res.statusCode).toBe(413);
    expect(res.headers.connection).toBe('close');
    await Promise.all(settled);
    expect(seen).toEqual([{ complete: false, readableEnded: false }]);
    expect(await inbox.read('payments', 0, 10)).toEqual([]);
    expect(await audit.query({})).toEqual([expect.objectContaining({ reason: 'too-large', error: expect.objectContaining({ status: 413 }) })]);
    req.destroy();
  });

  it('answers 413 as soon as a chunked body passes the limit, without waiting for its end', async () => {
    const { intake, inbox } = setup(64 * 1024);
    const { listener, seen, settled } = tracked(nodeHandler(intake));
    const port = await listen(listener);
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/webhooks', headers: signedHeaders('msg_big', 'x') });
    req.on('error', () => undefined);
    const chunk = 'x'.repeat(16 * 1024);
    const response = once(req, 'response') as Promise<[IncomingMessage]>;
    for (let i = 0; i < 6; i++) req.write(chunk); // 96 KiB and never ended
    const [res] = await response;
    res.resume();

    expect(res.statusCode).toBe(413);
    await Promise.all(settled);
    expect(seen).toEqual([{ complete: false, readableEnded: false }]);
    expect(await inbox.read('payments', 0, 10)).toEqual([]);
    req.destroy();
  });

  it('stores nothing when the sender disconnects half way through the body', async () => {
    const { intake, inbox } = setup();
    const { listener, settled } = tracked(nodeHandler(intake));
    const port = await listen(listener);
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/webhooks', headers: { ...signedHeaders('msg_1', '{}'), 'content-length': '1000' } });
    req.on('error', () => undefined);
    req.write('{"partial":');
    // Disconnect once the handler is reading this request.
    for (let i = 0; i < 2000 && settled.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(settled).toHaveLength(1);
    req.destroy();
    await Promise.all(settled);
    expect(await inbox.read('payments', 0, 10)).toEqual([]);
  });

  it('uses a raw body a framework already read (express.raw), and refuses a parsed one with a clear error', async () => {
    const { intake, inbox, failed } = setup();
    const handler = nodeHandler(intake);
    let parse: 'raw' | 'json' = 'raw';
    // What Express does with express.raw() / express.json() in front of the route.
    const port = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        (req as IncomingMessage & { body?: unknown }).body = parse === 'raw' ? raw : JSON.parse(raw.toString('utf8'));
        void handler(req, res);
      });
    });
    const body = '{"type":"payment.succeeded"}';
    expect((await post(port, signedHeaders('msg_1', body), body)).status).toBe(200);

    parse = 'json';
    expect(await post(port, signedHeaders('msg_2', body), body)).toEqual({ status: 500, body: '{"error":"internal"}' });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ operation: 'read-body' });
    expect(failed[0]?.error.message).toMatch(/express\.raw\(\{ type: '\*\/\*' \}\)/);
    expect((await inbox.read('payments', 0, 10)).map((e) => e.id)).toEqual(['msg_1']);
  });

  it('answers other methods 405 without reading anything', async () => {
    const { intake } = setup();
    const port = await listen(nodeHandler(intake));
    const status = await new Promise<number>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, method: 'GET', path: '/webhooks' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(405);
  });
});

describe('fetchHandler', () => {
  const url = 'http://127.0.0.1/api/webhooks';

  it('takes a Fetch Request and returns a Response after the inbox write', async () => {
    const { intake, inbox } = setup();
    const handler = fetchHandler(intake);
    const body = '{"type":"payment.succeeded","data":{"id":"pay_1"}}';
    const response = await handler(new Request(url, { method: 'POST', headers: signedHeaders('msg_1', body), body }));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ received: true, duplicate: false });
    expect((await inbox.read('payments', 0, 10)).map((e) => e.body)).toEqual([body]);

    const forged = await handler(new Request(url, { method: 'POST', headers: { ...signedHeaders('msg_2', body), 'webhook-id': 'msg_3' }, body }));
    expect(forged.status).toBe(401);
    expect((await handler(new Request(url))).status).toBe(405);
  });

  it('answers 413 for a Content-Length over the limit without pulling the body', async () => {
    const { intake, inbox } = setup(1024);
    let pulls = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(512));
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request(url, {
      method: 'POST',
      headers: { ...signedHeaders('msg_big', 'x'), 'content-length': String(10 * 1024 * 1024) },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    const response = await fetchHandler(intake)(request);

    expect(response.status).toBe(413);
    expect(pulls).toBeLessThanOrEqual(1); // at most the stream's own eager first pull
    expect(cancelled).toBe(true);
    expect(await inbox.read('payments', 0, 10)).toEqual([]);
  });

  it('cancels a streamed body as soon as it passes the limit', async () => {
    const { intake, audit } = setup(64 * 1024);
    let pulls = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        if (pulls > 1000) controller.close(); // bounded, should never get here
        else controller.enqueue(new Uint8Array(16 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request(url, { method: 'POST', headers: signedHeaders('msg_big', 'x'), body: stream, duplex: 'half' } as RequestInit);
    const response = await fetchHandler(intake)(request);

    expect(response.status).toBe(413);
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThanOrEqual(7);
    expect(await audit.query({})).toEqual([expect.objectContaining({ reason: 'too-large' })]);
  });
});
