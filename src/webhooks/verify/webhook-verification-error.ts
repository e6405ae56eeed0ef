import { SynclineError } from '../../errors/syncline-error.js';

/**
 * Why a webhook request was rejected. Stable: match on it (audit rows, metrics, status codes), never on
 * the message.
 *
 * - `missing-header`: a header the scheme needs (signature, timestamp or event id) was not sent.
 * - `bad-signature`: no signature matches the raw body under any configured secret.
 * - `stale`: the signature is valid but its timestamp is older than the tolerance (a replay, or a clock
 *   that is off).
 * - `future`: the signature is valid but its timestamp is further ahead than the tolerance.
 * - `malformed`: a header or the body cannot be parsed (a timestamp in milliseconds or with trailing
 *   characters, a Stripe body without an event id, a header sent twice with different values).
 * - `too-large`: the body is over the intake's size limit (set by the intake handler, not by verifiers).
 */
export type WebhookRejectionReason = 'missing-header' | 'bad-signature' | 'stale' | 'future' | 'malformed' | 'too-large';

/** Options of {@link WebhookVerificationError}. */
export interface WebhookVerificationErrorOptions {
  /** The verifier's scheme, e.g. `standard-webhooks`. */
  readonly scheme?: string;
  /** Name of the header concerned, e.g. `webhook-timestamp`; never its value. */
  readonly header?: string;
  readonly cause?: unknown;
}

/**
 * A webhook request failed verification: answer 4xx, audit `reason`, store nothing.
 *
 * The message names the header and what was wrong with it, but never contains a secret or a signature
 * value, so it is safe to log and to put in audit rows.
 *
 * @example
 * ```ts
 * import { WebhookVerificationError } from 'syncline/webhooks';
 *
 * try {
 *   verifier.verify({ headers: request.headers, body });
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError) console.warn('rejected webhook:', error.reason);
 *   else throw error;
 * }
 * ```
 */
export class WebhookVerificationError extends SynclineError {
  override readonly name = 'WebhookVerificationError' as const;
  readonly code = 'WEBHOOK_REJECTED' as const;
  readonly errorClass = 'permanent' as const;
  /** Why the request was rejected. */
  readonly reason: WebhookRejectionReason;
  /** The verifier's scheme, when a verifier rejected it. */
  readonly scheme: string | undefined;
  /** The header concerned, when one is. */
  readonly header: string | undefined;

  /**
   * @param reason - the stable reason code.
   * @param detail - what was wrong and how to fix it; must not contain secrets or signature values.
   */
  constructor(reason: WebhookRejectionReason, detail: string, options: WebhookVerificationErrorOptions = {}) {
    super(`Webhook rejected (${reason})${options.scheme === undefined ? '' : ` by the ${options.scheme} verifier`}: ${detail}`, options);
    this.reason = reason;
    this.scheme = options.scheme;
    this.header = options.header;
  }
}
