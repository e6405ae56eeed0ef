/**
 * `syncline/webhooks`: verified webhook intake into a durable inbox, drained by ordinary pipelines.
 *
 * A verifier (`standardWebhooks`, `stripeSignature`, `shopifySignature`, `githubSignature`,
 * `hmacSignature`) checks each request over its raw bytes; `webhookIntake` appends the event to an inbox
 * store, deduplicated by its id, before answering 2xx; `nodeHandler` and `fetchHandler` mount it; and
 * `inboxSource` drains the inbox through a pipeline with every guarantee of a polled source.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { pipeline } from 'syncline';
 * import { sqliteStores } from 'syncline/sqlite';
 * import { inboxJson, inboxSource, nodeHandler, standardWebhooks, webhookIntake } from 'syncline/webhooks';
 *
 * const stores = sqliteStores();
 * const intake = webhookIntake({ inbox: stores.inbox, name: 'payments', verifier: standardWebhooks({ secrets: process.env.WEBHOOK_SECRET ?? '' }), audit: stores.audit });
 * createServer(nodeHandler(intake)).listen(3000);
 * const payments = pipeline({ id: 'payments', source: inboxSource({ inbox: stores.inbox, name: 'payments', pollIntervalMs: 500 }), stores })
 *   .map(inboxJson(PaymentEvent))
 *   .to(ledger);
 * ```
 *
 * @module
 */

// Intake
export { webhookIntake, WebhookIntake, REJECTION_STATUS } from './intake/intake.js';
export type { IntakeRequest, IntakeResponse, WebhookIntakeOptions } from './intake/intake.js';
export type { WebhookAcceptedEvent, WebhookFailedEvent, WebhookIntakeEvents, WebhookRejectedEvent } from './intake/events.js';
export { DEFAULT_KEPT_HEADERS } from './intake/headers.js';
export { nodeHandler } from './intake/node-handler.js';
export type { NodeWebhookHandler } from './intake/node-handler.js';
export { fetchHandler } from './intake/fetch-handler.js';
export type { FetchWebhookHandler } from './intake/fetch-handler.js';
export { inboxSource } from './intake/inbox-source.js';
export type { InboxCursor, InboxSourceOptions } from './intake/inbox-source.js';
export { inboxJson } from './intake/inbox-json.js';

// Verification
export { standardWebhooks, signStandardWebhook } from './verify/standard-webhooks.js';
export type { StandardWebhooksOptions } from './verify/standard-webhooks.js';
export { stripeSignature, signStripeWebhook } from './verify/stripe-signature.js';
export type { StripeSignatureOptions } from './verify/stripe-signature.js';
export { shopifySignature, signShopifyWebhook } from './verify/shopify-signature.js';
export type { ShopifySignatureOptions } from './verify/shopify-signature.js';
export { githubSignature, signGithubWebhook } from './verify/github-signature.js';
export type { GithubSignatureOptions } from './verify/github-signature.js';
export { hmacSignature, signHmacWebhook } from './verify/hmac-signature.js';
export type { HmacSignatureOptions, SignHmacWebhookOptions } from './verify/hmac-signature.js';
export type { HmacAlgorithm, SignatureEncoding } from './verify/hmac.js';
export { WebhookVerificationError } from './verify/webhook-verification-error.js';
export type { WebhookRejectionReason, WebhookVerificationErrorOptions } from './verify/webhook-verification-error.js';
export type { TimestampToleranceOptions, VerifiedWebhook, WebhookHeaders, WebhookRequest, WebhookVerifier } from './verify/webhook-verifier.js';
