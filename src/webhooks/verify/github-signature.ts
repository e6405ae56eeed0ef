import { z } from 'zod';
import { bodyBytes, encodeSignature, hmac } from './hmac.js';
import { buildHmacVerifier } from './hmac-signature.js';
import { parsePublicOptions, parseSecrets, utf8Secret } from './verifier-options.js';
import type { WebhookVerifier } from './webhook-verifier.js';

/**
 * Options of {@link githubSignature}.
 *
 * @example
 * ```ts
 * import { githubSignature, type GithubSignatureOptions } from 'syncline/webhooks';
 *
 * const options: GithubSignatureOptions = { secrets: process.env.GITHUB_WEBHOOK_SECRET ?? '' };
 * const verifier = githubSignature(options);
 * ```
 */
export interface GithubSignatureOptions {
  /** The webhook's secret as entered in its settings on GitHub; during rotation every active one. */
  readonly secrets: string | readonly string[];
}

const FIX = 'Pass the secret set on the webhook in GitHub (a webhook without a secret sends no signature), or every active one during rotation.';

/**
 * Verifies GitHub webhooks: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`; the event
 * id is `X-GitHub-Delivery` (kept by "Redeliver").
 *
 * GitHub signs no timestamp and not the delivery header: a captured request can be replayed, and its
 * delivery id changed without breaking the signature. The legacy SHA-1 `X-Hub-Signature` is not read.
 *
 * @throws {InvalidOptionsError} at construction, for a missing, empty or whitespace-containing secret.
 * @example
 * ```ts
 * import { githubSignature } from 'syncline/webhooks';
 *
 * const verifier = githubSignature({ secrets: process.env.GITHUB_WEBHOOK_SECRET ?? '' });
 * const { id } = verifier.verify({ headers: request.headers, body: rawBody });
 * ```
 * @see https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
export function githubSignature(options: GithubSignatureOptions): WebhookVerifier {
  const where = 'githubSignature';
  const { secrets } = parsePublicOptions(z.strictObject({}), options, where, []);
  const keys = parseSecrets(secrets, { label: `${where}.secrets`, name: 'secrets', innerSpaces: true }, utf8Secret, FIX);
  return buildHmacVerifier({
    scheme: 'github',
    keys,
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: 'sha256=',
    header: 'x-hub-signature-256',
    idHeader: 'x-github-delivery',
    hint: 'GitHub sends `X-Hub-Signature-256` (only when the webhook has a secret) and `X-GitHub-Delivery`: is this endpoint set up for GitHub with a secret, and does no proxy strip headers?',
  });
}

/**
 * Signs like GitHub: returns the `X-Hub-Signature-256` value `sha256=<hex>` for the raw body.
 *
 * @throws {InvalidOptionsError} for a bad secret.
 * @example
 * ```ts
 * import { signGithubWebhook } from 'syncline/webhooks';
 *
 * const body = JSON.stringify({ action: 'opened', number: 1 });
 * const headers = { 'x-hub-signature-256': signGithubWebhook('webhook-secret', body), 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };
 * ```
 */
export function signGithubWebhook(secret: string, body: Uint8Array | string): string {
  const [key] = parseSecrets(secret, { label: 'signGithubWebhook(secret)', name: 'secret', innerSpaces: true }, utf8Secret, FIX) as [Buffer];
  return `sha256=${encodeSignature(hmac('sha256', key, [bodyBytes(body)]), 'hex')}`;
}
