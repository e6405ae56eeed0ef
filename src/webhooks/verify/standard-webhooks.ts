import { z } from 'zod';
import { bodyBytes, checkSignatureCount, encodeSignature, hmac, matchesAny } from './hmac.js';
import { checkEventId, readRequiredHeaders } from './read-header.js';
import { checkWindow, parseTimestamp, resolveWindow, secondsText, toleranceShape } from './timestamp.js';
import { parseSecrets, parsePublicOptions, type SecretCheck } from './verifier-options.js';
import type { TimestampToleranceOptions, VerifiedWebhook, WebhookRequest, WebhookVerifier } from './webhook-verifier.js';
import { WebhookVerificationError } from './webhook-verification-error.js';

const SCHEME = 'standard-webhooks';
const SECRET_PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Options of {@link standardWebhooks}.
 *
 * @example
 * ```ts
 * import { standardWebhooks, type StandardWebhooksOptions } from 'syncline/webhooks';
 *
 * const options: StandardWebhooksOptions = { secrets: [process.env.NEW_SECRET ?? '', process.env.OLD_SECRET ?? ''] };
 * const verifier = standardWebhooks(options);
 * ```
 */
export interface StandardWebhooksOptions extends TimestampToleranceOptions {
  /**
   * The endpoint's signing secret, `whsec_` followed by base64 (the prefix is optional), decoding to 24
   * to 64 bytes. During rotation pass every active secret: a request signed with any of them passes.
   */
  readonly secrets: string | readonly string[];
}

function decodeStandardSecret(secret: string): SecretCheck<Buffer> {
  if (/^wh(?:sk|pk)_/.test(secret)) {
    return { problem: 'got an asymmetric (ed25519, `v1a`) key; only symmetric `whsec_` secrets (`v1` signatures) are supported' };
  }
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded === '' || !BASE64.test(encoded)) {
    return {
      problem:
        `got a ${secret.length}-character string that is not \`whsec_\` followed by padded standard base64; ` +
        'copy the whole secret from the sender (it looks like `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`)',
    };
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    return {
      problem:
        `it decodes to ${key.length} bytes, but Standard Webhooks secrets are ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes; ` +
        'check that the whole secret was copied',
    };
  }
  return { key };
}

const FIX = 'Pass the endpoint signing secret (`whsec_…`) from the sender’s dashboard, or every active one during rotation.';


function signWithKey(key: Buffer, id: string, timestamp: string, body: Uint8Array): string {
  return encodeSignature(hmac('sha256', key, [id, '.', timestamp, '.', body]), 'base64');
}

/**
 * Verifies Standard Webhooks requests (Svix, and every sender of the standardwebhooks.com spec).
 *
 * Reads `webhook-id`, `webhook-timestamp` and `webhook-signature`; the signature header is a
 * space-separated list of `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (several during the
 * sender's key rotation), and the request passes when any of them matches under any configured secret.
 * Returns `webhook-id` as the event id and the signed timestamp.
 *
 * Stricter than the reference library on purpose: the timestamp must be exactly whole seconds (it
 * accepts `1700000000abc`), entries are compared as whole texts (`v1,<sig>,junk` does not match), and
 * the signature is checked over the raw bytes (it decodes the body to text first).
 *
 * Checks, in order: headers present (`missing-header`), timestamp well-formed (`malformed`), signature
 * (`bad-signature`), then the time window (`stale`, `future`), so `stale` always means an authentic
 * request that came too late.
 *
 * @throws {InvalidOptionsError} at construction, for a missing, empty, whitespace-containing or
 * wrongly encoded secret, or a bad tolerance.
 * @example
 * ```ts
 * import { standardWebhooks } from 'syncline/webhooks';
 *
 * const verifier = standardWebhooks({ secrets: process.env.WEBHOOK_SECRET ?? '' });
 * const { id, timestamp } = verifier.verify({ headers: request.headers, body: rawBody });
 * ```
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export function standardWebhooks(options: StandardWebhooksOptions): WebhookVerifier {
  const where = 'standardWebhooks';
  const parsed = parsePublicOptions(z.strictObject(toleranceShape), options, where, ['toleranceSeconds', 'clock']);
  const keys = parseSecrets(parsed.secrets, { label: `${where}.secrets`, name: 'secrets' }, decodeStandardSecret, FIX);
  const window = resolveWindow(parsed.options as TimestampToleranceOptions);

  return {
    scheme: SCHEME,
    verify(request: WebhookRequest): VerifiedWebhook {
      const body = bodyBytes(request.body);
      const {
        'webhook-id': id,
        'webhook-timestamp': rawTimestamp,
        'webhook-signature': signatures,
      } = readRequiredHeaders(
        request.headers,
        ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
        SCHEME,
        'A Standard Webhooks sender sends `webhook-id`, `webhook-timestamp` and `webhook-signature`: is this endpoint set up for the right sender, and does no proxy strip headers?',
      );
      const timestamp = parseTimestamp(rawTimestamp, '`webhook-timestamp`', 'webhook-timestamp', SCHEME);
      checkEventId(id, '`webhook-id`', SCHEME, 'webhook-id');

      const entries = signatures.split(' ').filter((entry) => entry !== '');
      checkSignatureCount(entries.length, 'webhook-signature', SCHEME);
      const received = entries.filter((entry) => entry.startsWith('v1,')).map((entry) => entry.slice(3));
      if (received.length === 0) {
        throw new WebhookVerificationError(
          'bad-signature',
          '`webhook-signature` holds no `v1,` signature (only other versions, or none); a symmetric-key sender signs with `v1`.',
          { scheme: SCHEME, header: 'webhook-signature' },
        );
      }
      const expected = keys.map((key) => signWithKey(key, id, rawTimestamp, body));
      if (!matchesAny(received, expected)) {
        throw new WebhookVerificationError(
          'bad-signature',
          `no signature in \`webhook-signature\` matches the body under the ${keys.length} configured secret${keys.length === 1 ? '' : 's'}. ` +
            'Verify the raw body exactly as received (never re-serialized JSON), and check that the secret is this endpoint’s.',
          { scheme: SCHEME, header: 'webhook-signature' },
        );
      }
      checkWindow(timestamp, window, '`webhook-timestamp`', 'webhook-timestamp', SCHEME);
      return { id, timestamp };
    },
  };
}

/**
 * Signs like a Standard Webhooks sender: returns the `webhook-signature` value `v1,<base64>` for the
 * event id, timestamp (seconds) and raw body. For tests, and for sending webhooks.
 *
 * @throws {InvalidOptionsError} for a bad secret or a timestamp that is not whole seconds.
 * @example
 * ```ts
 * import { signStandardWebhook } from 'syncline/webhooks';
 *
 * const timestamp = Math.floor(Date.now() / 1000);
 * const body = JSON.stringify({ type: 'payment.succeeded', data: { id: 'pay_1' } });
 * const headers = {
 *   'webhook-id': 'msg_1',
 *   'webhook-timestamp': String(timestamp),
 *   'webhook-signature': signStandardWebhook(secret, 'msg_1', timestamp, body),
 * };
 * ```
 */
export function signStandardWebhook(secret: string, id: string, timestamp: number, body: Uint8Array | string): string {
  const [key] = parseSecrets(secret, { label: 'signStandardWebhook(secret)', name: 'secret' }, decodeStandardSecret, FIX) as [Buffer];
  return `v1,${signWithKey(key, id, secondsText(timestamp, 'signStandardWebhook'), bodyBytes(body))}`;
}
