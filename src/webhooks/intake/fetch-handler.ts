import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import type { IntakeResponse, WebhookIntake } from './intake.js';

/** A Fetch API handler: `Request` in, `Response` out. */
export type FetchWebhookHandler = (request: Request) => Promise<Response>;

/**
 * Mounts a {@link WebhookIntake} wherever handlers take a Fetch `Request` and return a `Response`:
 * Next.js route handlers, Hono, Bun.serve, Deno.serve, Cloudflare-style workers.
 *
 * The body is read as bytes, bounded by `maxBodyBytes`: a `Content-Length` over the limit is answered 413
 * without reading the body, and a stream that passes the limit is cancelled there and answered 413.
 * The returned promise never rejects.
 *
 * @example
 * ```ts
 * // app/api/webhooks/payments/route.ts (Next.js)
 * import { fetchHandler } from 'syncline/webhooks';
 * import { intake } from '@/lib/webhooks';
 *
 * export const POST = fetchHandler(intake);
 * ```
 */
export function fetchHandler(intake: WebhookIntake): FetchWebhookHandler {
  if (typeof (intake as Partial<WebhookIntake> | null)?.handle !== 'function') {
    throw new InvalidOptionsError('Expected `fetchHandler(intake)` to get a WebhookIntake, got ' + typeof intake + '. Create one with `webhookIntake({ … })`.', [
      'intake',
    ]);
  }
  return async (request) => {
    const { method, headers } = request;
    if (method.toUpperCase() !== 'POST') return toResponse(await intake.handle({ method, headers, body: '' }));
    const declared = Number(headers.get('content-length') ?? Number.NaN);
    if (Number.isSafeInteger(declared) && declared > intake.maxBodyBytes) {
      await request.body?.cancel().catch(() => undefined);
      return toResponse(await intake.rejectTooLarge(headers, declared));
    }
    let body: Uint8Array;
    try {
      const read = await readBody(request, intake.maxBodyBytes);
      if (typeof read === 'number') return toResponse(await intake.rejectTooLarge(headers, read));
      body = read;
    } catch (error) {
      // The client went away or the runtime failed the stream: nothing was stored; a retry will come.
      intake.emit('failed', { inbox: intake.name, operation: 'read-body', error: error instanceof Error ? error : new Error(String(error)) });
      return new Response('{"error":"bad-request"}', { status: 400, headers: { 'content-type': 'application/json; charset=utf-8' } });
    }
    return toResponse(await intake.handle({ method, headers, body }));
  };
}

/** The body's bytes, or how many were seen when the stream passed `limit` (it is cancelled then). */
async function readBody(request: Request, limit: number): Promise<Uint8Array | number> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return size;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function toResponse(answer: IntakeResponse): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
