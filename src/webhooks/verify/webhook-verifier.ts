import type { Clock } from '../../time/clock.js';
// Only for the {@link} in the doc comments.
import type { WebhookVerificationError } from './webhook-verification-error.js';

/**
 * Request headers as a verifier reads them: a Fetch `Headers` object, or a record such as node's
 * `IncomingHttpHeaders` (`request.headers` in node:http, Express, Fastify). Record keys are matched
 * case-insensitively.
 */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * What a verifier checks: the headers and the raw body exactly as received.
 *
 * Pass the bytes (`Uint8Array`, e.g. a node `Buffer` or `new Uint8Array(await request.arrayBuffer())`).
 * A string is encoded as UTF-8 and must be the exact text received, never `JSON.stringify` of a parsed
 * body: re-serialized JSON differs in spacing and key order, and its signature does not match.
 */
export interface WebhookRequest {
  readonly headers: WebhookHeaders;
  readonly body: Uint8Array | string;
}

/** A request that passed verification. */
export interface VerifiedWebhook {
  /**
   * The sender's event id, the deduplication key of the inbox: `webhook-id`, the Stripe event id,
   * `X-Shopify-Webhook-Id`, `X-GitHub-Delivery`, or the configured header. A redelivery carries the
   * same id.
   */
  readonly id: string;
  /** The signed timestamp in seconds since the Unix epoch, for schemes that sign one. */
  readonly timestamp?: number;
}

/**
 * Checks that a webhook request comes from the sender that holds the shared secret.
 *
 * Lifecycle: build a verifier once at startup with a factory (`standardWebhooks`, `stripeSignature`,
 * `shopifySignature`, `githubSignature`, `hmacSignature`); a misconfiguration throws
 * `InvalidOptionsError` there, never per request. Then call `verify` for each request, before the body
 * is parsed or stored. It returns the event id (and the signed timestamp, if any), or throws
 * {@link WebhookVerificationError} with a `reason`; any other throw is a bug or a bad argument
 * (`InvalidOptionsError` for a body that is neither bytes nor a string). `verify` is synchronous,
 * has no side effects and may be called concurrently.
 *
 * @example
 * ```ts
 * import { standardWebhooks } from 'syncline/webhooks';
 *
 * const verifier = standardWebhooks({ secrets: process.env.PAYMENTS_WEBHOOK_SECRET ?? '' });
 * const { id } = verifier.verify({ headers: request.headers, body: rawBody });
 * ```
 */
export interface WebhookVerifier {
  /** The scheme's name, e.g. `standard-webhooks`, for audit rows and error messages. */
  readonly scheme: string;
  /** Verifies one request; throws {@link WebhookVerificationError} when it must be rejected. */
  verify(request: WebhookRequest): VerifiedWebhook;
}

/** Options of the schemes that sign a timestamp. */
export interface TimestampToleranceOptions {
  /**
   * How far the signed timestamp may be from now, in seconds, in either direction: older is `stale`
   * (a replay), newer is `future` (a clock that is off). An integer from 1 to 86400.
   * @default 300
   */
  readonly toleranceSeconds?: number;
  /**
   * The clock that says what "now" is; `FakeClock` from `syncline/testing` in tests.
   * @default systemClock
   */
  readonly clock?: Clock;
}
