import type { WebhookHeaders } from '../verify/webhook-verifier.js';

/**
 * Headers the intake keeps with each inbox message unless told otherwise: the content type, the sender's
 * user agent, and the headers in which providers name the event (GitHub and Shopify put the event type
 * only there) or its timing. Never a signature or a secret.
 *
 * @example
 * ```ts
 * import { DEFAULT_KEPT_HEADERS, webhookIntake } from 'syncline/webhooks';
 *
 * const intake = webhookIntake({ inbox, name: 'orders', verifier, keepHeaders: [...DEFAULT_KEPT_HEADERS, 'x-tenant-id'] });
 * ```
 */
export const DEFAULT_KEPT_HEADERS: readonly string[] = Object.freeze([
  'content-type',
  'user-agent',
  'webhook-timestamp',
  'x-github-event',
  'x-github-hook-id',
  'x-shopify-topic',
  'x-shopify-shop-domain',
  'x-shopify-api-version',
  'x-shopify-triggered-at',
]);

/**
 * Header names that carry credentials or signatures. Keeping one would copy it into the inbox, and from
 * there into dead letters and audit payloads, so `keepHeaders` refuses them at construction.
 */
const SECRET_HEADER = /signature|secret|hmac|token|authorization|cookie|api-?key|password|credential|^x-hub-signature/i;

/** @internal Whether `name` looks like a signature or credential header, which is never kept. */
export function isSecretHeaderName(name: string): boolean {
  return SECRET_HEADER.test(name);
}

/** @internal Lower-case names; repeated headers joined by `, ` as HTTP does. */
export function normalizeHeaders(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, value: string): void => {
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value : `${out[key]}, ${value}`;
  };
  if (typeof (headers as { forEach?: unknown }).forEach === 'function' && !Array.isArray(headers)) {
    (headers as { forEach(callback: (value: string, name: string) => void): void }).forEach((value, name) => add(name, value));
    return out;
  }
  for (const [name, value] of Object.entries(headers as Readonly<Record<string, string | readonly string[] | undefined>>)) {
    if (value === undefined) continue;
    if (typeof value === 'string') add(name, value);
    else for (const item of value) add(name, item);
  }
  return out;
}

/** @internal The allow-listed subset of `headers` (already lower-case), as stored with an inbox message. */
export function pickHeaders(headers: Readonly<Record<string, string>>, keep: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of keep) {
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
