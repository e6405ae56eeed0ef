import { z } from 'zod';
import { bodyBytes, encodeSignature, hmac } from './hmac.js';
import { buildHmacVerifier } from './hmac-signature.js';
import { parsePublicOptions, parseSecrets, type SecretCheck } from './verifier-options.js';
import type { WebhookVerifier } from './webhook-verifier.js';

/**
 * Options of {@link shopifySignature}.
 *
 * @example
 * ```ts
 * import { shopifySignature, type ShopifySignatureOptions } from 'syncline/webhooks';
 *
 * const options: ShopifySignatureOptions = { secrets: process.env.SHOPIFY_CLIENT_SECRET ?? '' };
 * const verifier = shopifySignature(options);
 * ```
 */
export interface ShopifySignatureOptions {
  /**
   * The app's client secret (Partner Dashboard or Dev Dashboard → the app → Client credentials), or,
   * for a webhook made in the store admin, the key shown under Settings → Notifications → Webhooks.
   * During rotation pass every active one. Never an access token (`shpat_…`).
   */
  readonly secrets: string | readonly string[];
}

function checkShopifySecret(secret: string): SecretCheck<Buffer> {
  if (/^shp(?:at|ca|ua|pa)_/.test(secret)) {
    return { problem: 'got a Shopify access token; use the app’s client secret (API secret key), which signs webhooks' };
  }
  return { key: Buffer.from(secret, 'utf8') };
}

const FIX = 'Pass the app’s client secret, or every active one during rotation.';

/**
 * Verifies Shopify webhooks: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body, keyed
 * with the app's client secret; the event id is `X-Shopify-Webhook-Id`.
 *
 * Shopify signs no timestamp and not the id header: a captured request can be replayed, and its id
 * header changed without breaking the signature. Deduplication by id protects against Shopify's own
 * redeliveries, which keep the id.
 *
 * @throws {InvalidOptionsError} at construction, for a missing, empty or whitespace-containing secret,
 * or an access token passed as the secret.
 * @example
 * ```ts
 * import { shopifySignature } from 'syncline/webhooks';
 *
 * const verifier = shopifySignature({ secrets: process.env.SHOPIFY_CLIENT_SECRET ?? '' });
 * const { id } = verifier.verify({ headers: request.headers, body: rawBody });
 * ```
 * @see https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify
 */
export function shopifySignature(options: ShopifySignatureOptions): WebhookVerifier {
  const where = 'shopifySignature';
  const { secrets } = parsePublicOptions(z.strictObject({}), options, where, []);
  const keys = parseSecrets(secrets, { label: `${where}.secrets`, name: 'secrets' }, checkShopifySecret, FIX);
  return buildHmacVerifier({
    scheme: 'shopify',
    keys,
    algorithm: 'sha256',
    encoding: 'base64',
    prefix: '',
    header: 'x-shopify-hmac-sha256',
    idHeader: 'x-shopify-webhook-id',
    hint: 'Shopify sends `X-Shopify-Hmac-Sha256` and `X-Shopify-Webhook-Id` with every webhook: is this endpoint set up for Shopify, and does no proxy strip headers?',
  });
}

/**
 * Signs like Shopify: returns the `X-Shopify-Hmac-Sha256` value (base64) for the raw body.
 *
 * @throws {InvalidOptionsError} for a bad secret.
 * @example
 * ```ts
 * import { signShopifyWebhook } from 'syncline/webhooks';
 *
 * const body = JSON.stringify({ id: 820982911946154500, total_price: '10.00' });
 * const headers = { 'x-shopify-hmac-sha256': signShopifyWebhook('client-secret', body), 'x-shopify-webhook-id': 'b54557e4' };
 * ```
 */
export function signShopifyWebhook(secret: string, body: Uint8Array | string): string {
  const [key] = parseSecrets(secret, { label: 'signShopifyWebhook(secret)', name: 'secret' }, checkShopifySecret, FIX) as [Buffer];
  return encodeSignature(hmac('sha256', key, [bodyBytes(body)]), 'base64');
}
