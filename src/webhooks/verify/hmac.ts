import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import { WebhookVerificationError } from './webhook-verification-error.js';

/** A hash for HMAC signatures. */
export type HmacAlgorithm = 'sha256' | 'sha512' | 'sha1';

/** How a signature is written in its header. `base64` is padded, `base64url` is not. */
export type SignatureEncoding = 'hex' | 'base64' | 'base64url';

/** The body as bytes: a string is the received text, encoded back to UTF-8. */
export function bodyBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const got = body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body === 'object' ? 'an object' : typeof body;
  throw new InvalidOptionsError(
    `Expected \`body\` of the webhook request to be the raw body as a Uint8Array (e.g. a Buffer) or string, got ${got}. ` +
      'Read the body as bytes before any JSON parsing: `express.raw()`, `request.arrayBuffer()`, or the node:http data chunks.',
    ['body'],
  );
}

/** HMAC of the concatenated parts; strings are UTF-8. */
export function hmac(algorithm: HmacAlgorithm, key: Uint8Array, parts: ReadonlyArray<string | Uint8Array>): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** The header text of a digest in `encoding`. */
export function encodeSignature(digest: Buffer, encoding: SignatureEncoding): string {
  return digest.toString(encoding);
}

function constantTimeEqual(candidate: Buffer, expected: Buffer): boolean {
  if (candidate.length !== expected.length) {
    // Same work as a real comparison; the length itself is public (fixed by algorithm and encoding).
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(candidate, expected);
}

/**
 * Whether any received signature equals any expected one, comparing the encoded texts in constant time.
 *
 * Texts, not decoded bytes: lenient decoders (node's base64 skips invalid characters) would accept
 * altered signatures. Every pair is compared, without stopping at the first match.
 */
export function matchesAny(received: readonly string[], expected: readonly string[]): boolean {
  const expectedBytes = expected.map((text) => Buffer.from(text, 'utf8'));
  let matched = false;
  for (const text of received) {
    const candidate = Buffer.from(text, 'utf8');
    for (const wanted of expectedBytes) {
      const equal = constantTimeEqual(candidate, wanted);
      matched = equal || matched;
    }
  }
  return matched;
}

/** At most this many signatures are compared per request, so a huge header costs nothing. */
export const MAX_SIGNATURES = 20;

/** Rejects a signature list that is longer than any sender needs for key rotation. */
export function checkSignatureCount(count: number, header: string, scheme: string): void {
  if (count > MAX_SIGNATURES) {
    throw new WebhookVerificationError(
      'malformed',
      `header \`${header}\` holds ${count} signatures; at most ${MAX_SIGNATURES} are accepted (senders send one per active secret).`,
      { scheme, header },
    );
  }
}
