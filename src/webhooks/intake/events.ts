import type { WebhookRejectionReason, WebhookVerificationError } from '../verify/webhook-verification-error.js';

/** Payload of the intake's `accepted` event: a verified delivery is in the inbox. */
export interface WebhookAcceptedEvent {
  readonly inbox: string;
  /** The event id (the dedup key). */
  readonly id: string;
  /** The inbox sequence number of the stored message. */
  readonly seq: number;
  /** True for a redelivery: the id was already in the inbox and nothing new was stored. */
  readonly duplicate: boolean;
}

/** Payload of the intake's `rejected` event: a request failed verification (answered 4xx, nothing stored). */
export interface WebhookRejectedEvent {
  readonly inbox: string;
  readonly reason: WebhookRejectionReason;
  /** The status answered. */
  readonly status: number;
  /** Its message names the header and the problem, never a secret or a signature. */
  readonly error: WebhookVerificationError;
  /** The sender's `User-Agent`, when it sent one, to tell a misconfigured provider from noise. */
  readonly userAgent?: string;
}

/** Payload of the intake's `failed` event: something on our side failed. */
export interface WebhookFailedEvent {
  readonly inbox: string;
  /**
   * What failed: `inbox.append` (answered 503, the sender retries), `audit.write` (the answer stands),
   * `verify` (a verifier threw something other than a verification error: answered 500), `read-body`
   * (the adapter could not read the request: a body parser ran first, answered 500; or the stream broke,
   * answered 400 to a sender that is usually gone), `handle` (a bug: answered 500).
   */
  readonly operation: 'inbox.append' | 'audit.write' | 'verify' | 'read-body' | 'handle';
  /** The event id, once known. */
  readonly id?: string;
  readonly error: Error;
}

/**
 * Events of a {@link WebhookIntake} (eventemitter3), for alerting and metrics.
 *
 * @example
 * ```ts
 * intake.on('rejected', ({ reason, status }) => metrics.increment(`webhooks.rejected.${reason}`));
 * intake.on('failed', ({ operation, error }) => logger.error({ operation, err: error }, 'webhook intake failed'));
 * ```
 */
export interface WebhookIntakeEvents {
  accepted: [WebhookAcceptedEvent];
  rejected: [WebhookRejectedEvent];
  failed: [WebhookFailedEvent];
}
