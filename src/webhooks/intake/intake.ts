import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { z } from 'zod';
import { isSynclineError } from '../../errors/syncline-error.js';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import { toError } from '../../errors/non-error.js';
import { clockSchema, parseOptions } from '../../internal/options.js';
import type { AuditEvent, AuditStore } from '../../stores/audit-store.js';
import type { InboxStore } from '../../stores/inbox-store.js';
import { systemClock, type Clock } from '../../time/clock.js';
import { WebhookVerificationError, type WebhookRejectionReason } from '../verify/webhook-verification-error.js';
import type { WebhookHeaders, WebhookVerifier } from '../verify/webhook-verifier.js';
import { DEFAULT_KEPT_HEADERS, isSecretHeaderName, normalizeHeaders, pickHeaders } from './headers.js';
import type { WebhookAcceptedEvent, WebhookFailedEvent, WebhookIntakeEvents, WebhookRejectedEvent } from './events.js';

/**
 * One webhook request as the intake sees it, whatever the server framework: what
 * {@link WebhookIntake.handle} takes when neither adapter fits.
 *
 * @example
 * ```ts
 * const answer = await intake.handle({ method: 'POST', headers: request.headers, body: rawBodyBuffer });
 * ```
 */
export interface IntakeRequest {
  /** The HTTP method; only `POST` is accepted (anything else gets 405, unaudited). */
  readonly method: string;
  /** The request headers (a Fetch `Headers`, node's `req.headers`, or a plain record). */
  readonly headers: WebhookHeaders;
  /**
   * The raw body exactly as received: bytes, or a string taken as its UTF-8 bytes. Never a parsed and
   * re-serialized object: the signature covers the bytes the sender sent.
   */
  readonly body: Uint8Array | string;
}

/**
 * The answer to send back, whatever the server framework.
 *
 * @example
 * ```ts
 * const { status, headers, body } = await intake.handle(request);
 * reply.code(status).headers(headers).send(body);
 * ```
 */
export interface IntakeResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** A small JSON document; never holds a secret, a signature or an internal error message. */
  readonly body: string;
}

/**
 * Options of {@link webhookIntake}.
 *
 * @example
 * ```ts
 * import { stripeSignature, type WebhookIntakeOptions } from 'syncline/webhooks';
 *
 * const options: WebhookIntakeOptions = {
 *   inbox: stores.inbox,
 *   name: 'payments',
 *   idPrefix: 'stripe:',
 *   verifier: stripeSignature({ secrets: process.env.STRIPE_WEBHOOK_SECRET ?? '' }),
 *   audit: stores.audit,
 *   maxBodyBytes: 256 * 1024,
 * };
 * ```
 */
export interface WebhookIntakeOptions {
  /** Where verified deliveries are appended before the sender gets a 2xx. */
  readonly inbox: InboxStore;
  /** The inbox name (one per provider or per endpoint). Letters, digits, `_.:-`; up to 128. */
  readonly name: string;
  /** Checks each request's signature and says its event id; see `standardWebhooks()` and the other schemes. */
  readonly verifier: WebhookVerifier;
  /**
   * Where rejections (and, with `auditDeliveries`, accepted deliveries) are recorded, under the audit
   * pipeline id `auditId`. Rejections are recorded as `skipped` with the reason code (`bad-signature`,
   * `stale`, `too-large` …) and the error; nothing of the request body or its signature.
   * @default undefined (no audit)
   */
  readonly audit?: AuditStore;
  /**
   * Also audit each accepted delivery (`written`, with the inbox seq as `ref`) and each redelivery
   * (`skipped`, reason `duplicate`), so a trace shows when an event arrived and how often.
   * @default true
   */
  readonly auditDeliveries?: boolean;
  /** The `pipelineId` of the intake's audit events. @default `webhooks:<name>` */
  readonly auditId?: string;
  /**
   * Put before each event id, e.g. `stripe:`. When several providers feed one inbox, give each intake its
   * own prefix: their ids cannot collide (deduplication is per inbox), and the pipeline can tell from
   * `entry.id` which provider sent an entry.
   * @default ''
   */
  readonly idPrefix?: string;
  /**
   * Largest body accepted, in bytes. A larger one gets 413; the adapters stop reading it as soon as they
   * know (from `Content-Length`, or once the stream passes the limit).
   * @default 1048576 (1 MiB)
   */
  readonly maxBodyBytes?: number;
  /**
   * Request headers stored with each message (case-insensitive), e.g. the event type header of a
   * provider that puts it only there. Signature, secret, token and cookie headers are refused.
   * @default DEFAULT_KEPT_HEADERS
   */
  readonly keepHeaders?: readonly string[];
  /** Time of receipt (`receivedAt`) and of audit events. @default systemClock */
  readonly clock?: Clock;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const nameSchema = z.string().regex(NAME, { message: 'expected 1–128 letters, digits or _.:- starting with a letter or digit' });
const isObjectWith =
  (methods: readonly string[]) =>
  (value: unknown): boolean =>
    typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');

const optionsSchema = z.strictObject({
  inbox: z.custom<InboxStore>(isObjectWith(['append', 'read']), { message: 'expected an InboxStore (with append, read)' }),
  name: nameSchema,
  verifier: z.custom<WebhookVerifier>(isObjectWith(['verify']), {
    message: 'expected a WebhookVerifier such as standardWebhooks({ secrets }) (there is no unverified intake)',
  }),
  audit: z.custom<AuditStore>(isObjectWith(['write', 'query']), { message: 'expected an AuditStore (with write, query)' }).optional(),
  auditDeliveries: z.boolean().default(true),
  auditId: nameSchema.optional(),
  idPrefix: z
    .string()
    .max(64)
    .regex(/^[^\u0000-\u001f\u007f]*$/, { message: 'expected printable characters' })
    .default(''),
  maxBodyBytes: z.number().int().min(1).max(1_073_741_824).default(1_048_576),
  keepHeaders: z
    .array(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { message: 'expected an HTTP header name' }))
    .default([...DEFAULT_KEPT_HEADERS]),
  clock: clockSchema.optional(),
});

/**
 * The HTTP status each rejection reason is answered with. Signature problems are 401 (the request is not
 * authenticated; providers retry, and a retry re-signed with a fresh timestamp passes once clocks agree),
 * a malformed request 400, a body over the limit 413.
 *
 * @example
 * ```ts
 * import { REJECTION_STATUS } from 'syncline/webhooks';
 *
 * REJECTION_STATUS['bad-signature']; // 401
 * ```
 */
export const REJECTION_STATUS: Readonly<Record<WebhookRejectionReason, number>> = Object.freeze({
  'missing-header': 401,
  'bad-signature': 401,
  stale: 401,
  future: 401,
  malformed: 400,
  'too-large': 413,
});

const MAX_ID_LENGTH = 512;
// Control characters would make audit rows and logs ambiguous; no provider uses them in ids.
const CONTROL = /[\u0000-\u001f\u007f]/;
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' } as const;

/**
 * Verified webhook intake: checks each request's signature, appends the event to an inbox (deduplicated
 * by its id) and only then answers 2xx; a pipeline drains the inbox with {@link inboxSource}.
 *
 * `handle()` is the framework-free core; mount it with {@link nodeHandler} (node:http, Express, Fastify)
 * or {@link fetchHandler} (Fetch API: Hono, Next.js route handlers, Bun, Deno). What each request gets:
 *
 * | case | status | stored | audited |
 * | --- | --- | --- | --- |
 * | verified, new id | 200 | appended | `written` (with `auditDeliveries`) |
 * | verified, id already in the inbox (redelivery) | 200 | nothing new | `skipped`, reason `duplicate` |
 * | signature missing, wrong, stale or from the future | 401 | nothing | `skipped`, reason code |
 * | malformed (bad header syntax, body not UTF-8) | 400 | nothing | `skipped`, `malformed` |
 * | body over `maxBodyBytes` | 413 | nothing | `skipped`, `too-large` |
 * | the inbox append failed | 503 (the sender retries) | nothing | event `failed` |
 * | not `POST` | 405 | nothing | no |
 *
 * Emits {@link WebhookIntakeEvents}: `accepted`, `rejected`, `failed`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { sqliteStores } from 'syncline/sqlite';
 * import { webhookIntake, nodeHandler, standardWebhooks } from 'syncline/webhooks';
 *
 * const stores = sqliteStores();
 * const intake = webhookIntake({
 *   inbox: stores.inbox,
 *   name: 'payments',
 *   verifier: standardWebhooks({ secrets: [process.env.WEBHOOK_SECRET!] }),
 *   audit: stores.audit,
 * });
 * createServer(nodeHandler(intake)).listen(3000);
 * ```
 */
export class WebhookIntake extends EventEmitter<WebhookIntakeEvents> {
  /** The inbox name. */
  readonly name: string;
  /** The `pipelineId` of this intake's audit events. */
  readonly auditId: string;
  /** Largest body accepted, in bytes. */
  readonly maxBodyBytes: number;
  /** Lower-case names of the headers stored with each message. */
  readonly keepHeaders: readonly string[];
  /** Identifies this intake instance (one per process start) in its audit events. */
  readonly runId: string;
  /** Put before each event id. */
  readonly idPrefix: string;
  readonly #inbox: InboxStore;
  readonly #verifier: WebhookVerifier;
  readonly #audit: AuditStore | undefined;
  readonly #auditDeliveries: boolean;
  readonly #clock: Clock;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  /** @internal Use {@link webhookIntake}. */
  constructor(options: WebhookIntakeOptions) {
    super();
    const o = parseOptions(optionsSchema, options, 'webhookIntake');
    const keep = [...new Set(o.keepHeaders.map((h) => h.toLowerCase()))];
    const secret = keep.filter(isSecretHeaderName);
    if (secret.length > 0) {
      throw new InvalidOptionsError(
        `Expected \`webhookIntake.keepHeaders\` to name no signature or credential header, got ${secret.map((h) => `\`${h}\``).join(', ')}. ` +
          'These would be copied into the inbox, dead letters and audit payloads; remove them (the verifier reads them from the request).',
        ['keepHeaders'],
      );
    }
    this.name = o.name;
    this.auditId = o.auditId ?? `webhooks:${o.name}`;
    this.maxBodyBytes = o.maxBodyBytes;
    this.keepHeaders = Object.freeze(keep);
    this.runId = randomUUID();
    this.idPrefix = o.idPrefix;
    this.#inbox = o.inbox;
    this.#verifier = o.verifier;
    this.#audit = o.audit;
    this.#auditDeliveries = o.auditDeliveries;
    this.#clock = o.clock ?? systemClock;
  }

  /**
   * Verifies one request, appends it to the inbox and says what to answer. Never throws: a failure
   * becomes a 4xx (the request's fault) or a 5xx (ours; the sender retries) and a `failed` event.
   */
  async handle(request: IntakeRequest): Promise<IntakeResponse> {
    try {
      return await this.#handle(request);
    } catch (error) {
      // Only a bug can land here (every expected failure is answered inside); the sender retries a 500.
      this.#fail({ inbox: this.name, operation: 'handle', error: toError(error) });
      return respond(500, { error: 'internal' });
    }
  }

  /**
   * Answers 413 for a body over `maxBodyBytes` without it, audited as `too-large`. For adapters that stop
   * reading a body part way (the built-in ones call it); `handle()` checks the size of a whole body itself.
   *
   * @param bytes - the declared `Content-Length`, or how many bytes were read before stopping
   */
  async rejectTooLarge(headers: WebhookHeaders, bytes: number): Promise<IntakeResponse> {
    try {
      const error = new WebhookVerificationError(
        'too-large',
        `the body of a webhook for inbox \`${this.name}\` is over \`maxBodyBytes\` (${this.maxBodyBytes} bytes; ${bytes} seen). ` +
          'Raise `maxBodyBytes` if the provider really sends such bodies.',
      );
      return await this.#reject(error, normalizeHeaders(headers));
    } catch (error) {
      this.#fail({ inbox: this.name, operation: 'handle', error: toError(error) });
      return respond(500, { error: 'internal' });
    }
  }

  async #handle(request: IntakeRequest): Promise<IntakeResponse> {
    if (typeof request.method !== 'string' || request.method.toUpperCase() !== 'POST') {
      return respond(405, { error: 'method-not-allowed' }, { allow: 'POST' });
    }
    const { body } = request;
    const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
    if (size > this.maxBodyBytes) return this.rejectTooLarge(request.headers, size);
    const headers = normalizeHeaders(request.headers);

    let id: string;
    try {
      const verified = await this.#verifier.verify({ headers, body });
      id = typeof verified.id === 'string' && verified.id !== '' ? this.idPrefix + verified.id : verified.id;
    } catch (error) {
      if (isVerificationError(error)) return this.#reject(error, headers);
      this.#fail({ inbox: this.name, operation: 'verify', error: toError(error) });
      return respond(500, { error: 'internal' });
    }
    if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH || CONTROL.test(id)) {
      return this.#reject(
        new WebhookVerificationError(
          'malformed',
          `the event id of a webhook for inbox \`${this.name}\` is ${typeof id === 'string' ? (id === '' ? 'empty' : `not 1–${MAX_ID_LENGTH} printable characters`) : 'missing'}.`,
        ),
        headers,
      );
    }

    let text: string;
    if (typeof body === 'string') text = body;
    else {
      try {
        text = this.#decoder.decode(body);
      } catch {
        return this.#reject(
          new WebhookVerificationError('malformed', `the body of webhook \`${id}\` for inbox \`${this.name}\` is not UTF-8 text; the inbox stores text.`),
          headers,
          id,
        );
      }
    }

    let stored: { inserted: boolean; seq: number };
    try {
      stored = await this.#inbox.append(this.name, { id, receivedAt: this.#clock.now(), headers: pickHeaders(headers, this.keepHeaders), body: text });
    } catch (error) {
      this.#fail({ inbox: this.name, operation: 'inbox.append', id, error: toError(error) });
      return respond(503, { error: 'unavailable' });
    }

    const duplicate = !stored.inserted;
    if (this.#audit && this.#auditDeliveries) {
      await this.#writeAudit({
        at: this.#clock.now(),
        pipelineId: this.auditId,
        runId: this.runId,
        key: id,
        ...(duplicate ? { type: 'skipped' as const, reason: 'duplicate' } : { type: 'written' as const }),
        ref: { inbox: this.name, seq: stored.seq },
      });
    }
    const accepted: WebhookAcceptedEvent = { inbox: this.name, id, seq: stored.seq, duplicate };
    this.emit('accepted', accepted);
    return respond(200, { received: true, duplicate });
  }

  async #reject(error: WebhookVerificationError, headers: Readonly<Record<string, string>>, id?: string): Promise<IntakeResponse> {
    const reason = error.reason;
    const status = REJECTION_STATUS[reason] ?? 400;
    if (this.#audit) {
      await this.#writeAudit({
        at: this.#clock.now(),
        pipelineId: this.auditId,
        runId: this.runId,
        type: 'skipped',
        ...(id === undefined ? {} : { key: id }),
        reason,
        error: { name: error.name, message: error.message, code: error.code, status },
      });
    }
    const event: WebhookRejectedEvent = {
      inbox: this.name,
      reason,
      status,
      error,
      ...(headers['user-agent'] === undefined ? {} : { userAgent: headers['user-agent'] }),
    };
    this.emit('rejected', event);
    return respond(status, { error: reason });
  }

  async #writeAudit(event: AuditEvent): Promise<void> {
    try {
      await this.#audit!.write([event]);
    } catch (error) {
      // The answer does not depend on the audit: the event is either safely stored or rejected already.
      this.#fail({ inbox: this.name, operation: 'audit.write', ...(event.key === undefined ? {} : { id: event.key }), error: toError(error) });
    }
  }

  #fail(event: WebhookFailedEvent): void {
    this.emit('failed', event);
  }
}

function isVerificationError(error: unknown): error is WebhookVerificationError {
  return (
    error instanceof WebhookVerificationError ||
    (isSynclineError(error) && (error as { code: string }).code === 'WEBHOOK_REJECTED' && typeof (error as { reason?: unknown }).reason === 'string')
  );
}

function respond(status: number, body: Readonly<Record<string, unknown>>, headers: Readonly<Record<string, string>> = {}): IntakeResponse {
  return { status, headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

/**
 * Creates a {@link WebhookIntake}: verified webhooks appended to an inbox before the sender is answered.
 * Options are checked now; a missing verifier or a signature header in `keepHeaders` throws
 * `InvalidOptionsError`.
 *
 * @example
 * ```ts
 * import { memoryStores } from 'syncline';
 * import { webhookIntake, fetchHandler, standardWebhooks } from 'syncline/webhooks';
 *
 * const stores = memoryStores();
 * const intake = webhookIntake({ inbox: stores.inbox, name: 'payments', verifier: standardWebhooks({ secrets: ['whsec_…'] }) });
 * export const POST = fetchHandler(intake); // a Next.js route handler
 * ```
 */
export function webhookIntake(options: WebhookIntakeOptions): WebhookIntake {
  return new WebhookIntake(options);
}
