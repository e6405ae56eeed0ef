import { z } from 'zod';
import { bodyBytes, checkSignatureCount, encodeSignature, hmac, matchesAny } from './hmac.js';
import { checkEventId, readRequiredHeaders } from './read-header.js';
import { checkWindow, parseTimestamp, resolveWindow, secondsText, toleranceShape } from './timestamp.js';
import { parsePublicOptions, parseSecrets, type SecretCheck } from './verifier-options.js';
import type { TimestampToleranceOptions, VerifiedWebhook, WebhookRequest, WebhookVerifier } from './webhook-verifier.js';
import { WebhookVerificationError } from './webhook-verification-error.js';

const SCHEME = 'stripe';
const HEADER = 'stripe-signature';

/**
 * Options of {@link stripeSignature}.
 *
 * @example
 * ```ts
 * import { stripeSignature, type StripeSignatureOptions } from 'syncline/webhooks';
 *
 * const options: StripeSignatureOptions = { secrets: process.env.STRIPE_WEBHOOK_SECRET ?? '' };
 * const verifier = stripeSignature(options);
 * ```
 */
export interface StripeSignatureOptions extends TimestampToleranceOptions {
  /**
   * The endpoint's signing secret, `whsec_…` (Dashboard → Webhooks → the endpoint → Signing secret, or
   * the one `stripe listen` prints), never the API key. During rotation pass every active secret.
   */
  readonly secrets: string | readonly string[];
}

function checkStripeSecret(secret: string): SecretCheck<Buffer> {
  if (/^(?:sk|rk|pk)_/.test(secret)) {
    return { problem: 'got a Stripe API key; use the endpoint’s webhook signing secret, which starts with `whsec_`' };
  }
  if (!secret.startsWith('whsec_') || secret.length === 'whsec_'.length) {
    return { problem: `got a ${secret.length}-character string that does not start with \`whsec_\` followed by the secret; copy the whole signing secret` };
  }
  // Stripe keys the HMAC with the whole secret text, prefix included.
  return { key: Buffer.from(secret, 'utf8') };
}

const FIX = 'Pass the endpoint signing secret (`whsec_…`) from the Stripe Dashboard, or every active one during rotation.';

interface ParsedStripeHeader {
  readonly timestamp: string;
  readonly signatures: string[];
}

function parseStripeHeader(value: string): ParsedStripeHeader {
  const malformed = (what: string): never => {
    throw new WebhookVerificationError('malformed', `\`Stripe-Signature\` ${what}; Stripe sends \`t=<seconds>,v1=<hex>\`.`, {
      scheme: SCHEME,
      header: HEADER,
    });
  };
  let timestamp: string | undefined;
  const signatures: string[] = [];
  const items = value.split(',');
  checkSignatureCount(items.length - 1, HEADER, SCHEME);
  for (const item of items) {
    const equals = item.indexOf('=');
    if (equals <= 0) return malformed('is not a comma-separated list of key=value pairs');
    const key = item.slice(0, equals);
    const text = item.slice(equals + 1);
    if (key === 't') {
      if (timestamp !== undefined) return malformed('has more than one `t=` timestamp');
      timestamp = text;
    } else if (key === 'v1') {
      signatures.push(text);
    }
    // Other schemes (`v0` test-mode signatures, future versions) are ignored, as Stripe's library does.
  }
  if (timestamp === undefined) return malformed('has no `t=` timestamp');
  return { timestamp, signatures };
}

function eventIdOf(body: Uint8Array): string {
  const notAnEvent = (what: string): never => {
    throw new WebhookVerificationError(
      'malformed',
      `the body ${what}, so it has no event id to deduplicate by; Stripe sends a JSON event object with an \`id\` such as \`evt_…\`.`,
      { scheme: SCHEME },
    );
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return notAnEvent('is not UTF-8 text');
  }
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    // No `cause`: a JSON SyntaxError quotes the body, and payloads stay out of errors and audit rows.
    return notAnEvent('is not JSON');
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return notAnEvent('is not a JSON object');
  const id = (event as Record<string, unknown>)['id'];
  if (typeof id !== 'string' || id === '') return notAnEvent('has no string `id`');
  return id;
}

/**
 * Verifies Stripe webhooks (`Stripe-Signature: t=…,v1=…`), the same check as Stripe's `constructEvent`.
 *
 * The signature is HMAC-SHA256 in hex over `<t>.<raw body>`, keyed with the `whsec_…` secret; any `v1`
 * entry may match (Stripe sends one per active secret while you roll it). The event id is the `id` of
 * the JSON body, read after the signature passed: the body must be a JSON object with a string `id`,
 * otherwise the request is rejected as `malformed`.
 *
 * Unlike Stripe's library, a timestamp too far in the future is rejected too (`future`), and `t` must be
 * exactly whole seconds (Stripe's `parseInt` accepts `1700000000abc`).
 *
 * @throws {InvalidOptionsError} at construction, for a missing, empty, whitespace-containing secret, one
 * that does not start with `whsec_` (an API key, say), or a bad tolerance.
 * @example
 * ```ts
 * import { stripeSignature } from 'syncline/webhooks';
 *
 * const verifier = stripeSignature({ secrets: process.env.STRIPE_WEBHOOK_SECRET ?? '' });
 * const { id } = verifier.verify({ headers: request.headers, body: rawBody }); // id: 'evt_…'
 * ```
 * @see https://docs.stripe.com/webhooks/signature
 */
export function stripeSignature(options: StripeSignatureOptions): WebhookVerifier {
  const where = 'stripeSignature';
  const parsed = parsePublicOptions(z.strictObject(toleranceShape), options, where, ['toleranceSeconds', 'clock']);
  const keys = parseSecrets(parsed.secrets, { label: `${where}.secrets`, name: 'secrets' }, checkStripeSecret, FIX);
  const window = resolveWindow(parsed.options as TimestampToleranceOptions);

  return {
    scheme: SCHEME,
    verify(request: WebhookRequest): VerifiedWebhook {
      const body = bodyBytes(request.body);
      const { [HEADER]: header } = readRequiredHeaders(
        request.headers,
        [HEADER],
        SCHEME,
        'Stripe signs every webhook with `Stripe-Signature`: is this endpoint set up for Stripe, and does no proxy strip headers?',
      );
      const parsedHeader = parseStripeHeader(header);
      const timestamp = parseTimestamp(parsedHeader.timestamp, 'the `t=` of `Stripe-Signature`', HEADER, SCHEME);
      if (parsedHeader.signatures.length === 0) {
        throw new WebhookVerificationError(
          'bad-signature',
          '`Stripe-Signature` holds no `v1=` signature (only other schemes); live and test endpoints sign with `v1`.',
          { scheme: SCHEME, header: HEADER },
        );
      }
      const expected = keys.map((key) => encodeSignature(hmac('sha256', key, [parsedHeader.timestamp, '.', body]), 'hex'));
      if (!matchesAny(parsedHeader.signatures, expected)) {
        throw new WebhookVerificationError(
          'bad-signature',
          `no \`v1\` signature in \`Stripe-Signature\` matches the body under the ${keys.length} configured secret${keys.length === 1 ? '' : 's'}. ` +
            'Verify the raw body exactly as received (never re-serialized JSON), and use this endpoint’s `whsec_` secret (the CLI’s differs from the Dashboard’s).',
          { scheme: SCHEME, header: HEADER },
        );
      }
      checkWindow(timestamp, window, 'the `t=` of `Stripe-Signature`', HEADER, SCHEME);
      return { id: checkEventId(eventIdOf(body), 'the body’s `id`', SCHEME), timestamp };
    },
  };
}

/**
 * Signs like Stripe: returns a `Stripe-Signature` value `t=<timestamp>,v1=<hex>` for the raw body. For
 * tests and local simulators; Stripe's own `stripe.webhooks.generateTestHeaderString` gives the same.
 *
 * @throws {InvalidOptionsError} for a bad secret or a timestamp that is not whole seconds.
 * @example
 * ```ts
 * import { signStripeWebhook } from 'syncline/webhooks';
 *
 * const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded' });
 * const header = signStripeWebhook('whsec_test_secret', Math.floor(Date.now() / 1000), body);
 * ```
 */
export function signStripeWebhook(secret: string, timestamp: number, body: Uint8Array | string): string {
  const where = 'signStripeWebhook';
  const [key] = parseSecrets(secret, { label: `${where}(secret)`, name: 'secret' }, checkStripeSecret, FIX) as [Buffer];
  const t = secondsText(timestamp, where);
  return `t=${t},v1=${encodeSignature(hmac('sha256', key, [t, '.', bodyBytes(body)]), 'hex')}`;
}
