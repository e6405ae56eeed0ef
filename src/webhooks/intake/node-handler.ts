import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import type { IntakeResponse, WebhookIntake } from './intake.js';

/** A request handler for `node:http` (and Express, Connect, Fastify's `raw` objects). */
export type NodeWebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

type ReadResult = { readonly kind: 'body'; readonly body: Uint8Array } | { readonly kind: 'too-large'; readonly bytes: number } | { readonly kind: 'aborted' };

/**
 * Mounts a {@link WebhookIntake} on `node:http`: `createServer(nodeHandler(intake))`, or as an Express
 * route (`app.post('/webhooks', nodeHandler(intake))`) registered before any body parser.
 *
 * It reads the raw body itself, bounded by `maxBodyBytes`: a `Content-Length` over the limit is answered
 * 413 before a byte of the body is read, and a body that streams past the limit is answered 413 at that
 * point; either way the connection is closed instead of reading the rest. When a body parser already ran,
 * a raw body it left in `req.body` (a `Buffer` or string, as from `express.raw()`) is used; a parsed
 * object is refused with a 500 and a `failed` event, because its signature cannot be checked.
 *
 * The returned promise never rejects; it settles once the answer is sent.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { nodeHandler } from 'syncline/webhooks';
 *
 * createServer(nodeHandler(intake)).listen(3000);
 * ```
 */
export function nodeHandler(intake: WebhookIntake): NodeWebhookHandler {
  if (typeof (intake as Partial<WebhookIntake> | null)?.handle !== 'function') {
    throw new InvalidOptionsError('Expected `nodeHandler(intake)` to get a WebhookIntake, got ' + typeof intake + '. Create one with `webhookIntake({ … })`.', [
      'intake',
    ]);
  }
  return async (req, res) => {
    const method = req.method ?? 'GET';
    if (method.toUpperCase() !== 'POST') {
      send(res, await intake.handle({ method, headers: req.headers, body: '' }));
      return;
    }
    const parsed = (req as IncomingMessage & { body?: unknown }).body;
    let body: Uint8Array | string;
    if (parsed instanceof Uint8Array || typeof parsed === 'string') {
      body = parsed;
    } else if (req.readableEnded) {
      intake.emit('failed', {
        inbox: intake.name,
        operation: 'read-body',
        error: new InvalidOptionsError(
          `The webhook request for inbox \`${intake.name}\` arrived with its body already read and parsed (req.body is ${parsed === null ? 'null' : typeof parsed}), ` +
            'so its signature cannot be checked. Register the webhook route before any JSON body parser, or give it a raw one ' +
            "(Express: `express.raw({ type: '*/*' })`; Fastify: a content-type parser with `parseAs: 'buffer'`).",
          ['req.body'],
        ),
      });
      send(res, { status: 500, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"error":"internal"}' });
      return;
    } else {
      const declared = contentLength(req);
      if (declared !== undefined && declared > intake.maxBodyBytes) {
        sendAndClose(req, res, await intake.rejectTooLarge(req.headers, declared));
        return;
      }
      const read = await readBody(req, intake.maxBodyBytes);
      if (read.kind === 'aborted') return; // the sender went away; it retries, and nothing was stored
      if (read.kind === 'too-large') {
        sendAndClose(req, res, await intake.rejectTooLarge(req.headers, read.bytes));
        return;
      }
      body = read.body;
    }
    send(res, await intake.handle({ method, headers: req.headers, body }));
  };
}

function contentLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined) return undefined;
  // node's parser has already refused a malformed or conflicting Content-Length.
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Reads the body up to `limit` bytes; past it, stops (pauses the stream) without reading the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<ReadResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: ReadResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        chunks.length = 0;
        finish({ kind: 'too-large', bytes: size });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish({ kind: 'body', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onAbort = (): void => finish({ kind: 'aborted' });
    const onClose = (): void => {
      if (!req.complete) finish({ kind: 'aborted' });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

function send(res: ServerResponse, answer: IntakeResponse): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body);
}

/**
 * Answers and closes the connection without reading the rest of the body: `Connection: close` makes node
 * end the socket after the response instead of draining the request for the next one on keep-alive.
 */
function sendAndClose(req: IncomingMessage, res: ServerResponse, answer: IntakeResponse): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  res.writeHead(answer.status, { ...answer.headers, connection: 'close', 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body, () => req.destroy());
}
