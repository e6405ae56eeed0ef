import { z } from 'zod';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import { parseOptions } from '../../internal/options.js';
import { bodyBytes, encodeSignature, hmac, matchesAny, type HmacAlgorithm, type SignatureEncoding } from './hmac.js';
import { checkEventId, readRequiredHeaders } from './read-header.js';
import { checkWindow, parseTimestamp, resolveWindow, secondsText, toleranceShape, type TimestampWindow } from './timestamp.js';
import { parsePublicOptions, parseSecrets, utf8Secret } from './verifier-options.js';
import type { TimestampToleranceOptions, VerifiedWebhook, WebhookRequest, WebhookVerifier } from './webhook-verifier.js';
import { WebhookVerificationError } from './webhook-verification-error.js';

/**
 * Options of {@link hmacSignature}: how the sender signs, as its documentation describes it.
 *
 * @example
 * ```ts
 * import { hmacSignature, type HmacSignatureOptions } from 'syncline/webhooks';
 *
 * // "X-Signature: sha256=<hex HMAC-SHA256 of '<X-Timestamp>.<body>'>", event id in X-Event-Id
 * const options: HmacSignatureOptions = {
 *   secrets: process.env.CARRIER_WEBHOOK_SECRET ?? '',
 *   header: 'x-signature',
 *   algorithm: 'sha256',
 *   encoding: 'hex',
 *   prefix: 'sha256=',
 *   timestampHeader: 'x-timestamp',
 *   idHeader: 'x-event-id',
 * };
 * const verifier = hmacSignature(options);
 * ```
 */
export interface HmacSignatureOptions extends TimestampToleranceOptions {
  /** The shared secret, used as HMAC key by its UTF-8 bytes; during rotation every active one. */
  readonly secrets: string | readonly string[];
  /** The header that carries the signature, e.g. `x-signature` (any casing). */
  readonly header: string;
  /** The HMAC hash. */
  readonly algorithm: HmacAlgorithm;
  /** How the signature is written: lower-case `hex`, padded `base64`, or unpadded `base64url`. */
  readonly encoding: SignatureEncoding;
  /**
   * Text before the signature in the header, e.g. `sha256=`; compared exactly.
   * @default '' (the header is the signature alone)
   */
  readonly prefix?: string;
  /**
   * The header with the signed Unix timestamp in seconds. With it, requests outside `toleranceSeconds`
   * are rejected as `stale` or `future`.
   * @default undefined (no timestamp: replays of a captured request cannot be detected)
   */
  readonly timestampHeader?: string;
  /**
   * What is signed: the raw body, or `<timestamp>.<raw body>`. A timestamp that is not signed could be
   * changed by anyone, so `timestampHeader` requires `'timestamp.body'`.
   * @default 'timestamp.body' with `timestampHeader`, 'body' without
   */
  readonly signedPayload?: 'body' | 'timestamp.body';
  /** The header with the sender's event id, the inbox's deduplication key, e.g. `x-event-id`. */
  readonly idHeader: string;
}

/** How a body-HMAC verifier is put together; shared by the generic, Shopify and GitHub schemes. */
export interface HmacVerifierConfig {
  readonly scheme: string;
  readonly keys: readonly Buffer[];
  readonly algorithm: HmacAlgorithm;
  readonly encoding: SignatureEncoding;
  readonly prefix: string;
  /** Lower-case header names. */
  readonly header: string;
  readonly idHeader: string;
  readonly timestamp?: { readonly header: string; readonly window: TimestampWindow };
  /** Appended to `missing-header` messages: what the sender should have sent. */
  readonly hint: string;
}

/** Builds a verifier of an HMAC over the raw body, or over `<timestamp>.<raw body>`. */
export function buildHmacVerifier(config: HmacVerifierConfig): WebhookVerifier {
  const { scheme, keys, algorithm, encoding, prefix, header, idHeader, timestamp: timed } = config;
  const names = timed === undefined ? [header, idHeader] : [header, idHeader, timed.header];
  const plural = keys.length === 1 ? '' : 's';
  return {
    scheme,
    verify(request: WebhookRequest): VerifiedWebhook {
      const body = bodyBytes(request.body);
      const values = readRequiredHeaders(request.headers, names, scheme, config.hint);
      const signature = values[header] as string;
      const id = checkEventId(values[idHeader] as string, `\`${idHeader}\``, scheme, idHeader);
      const rawTimestamp = timed === undefined ? undefined : (values[timed.header] as string);
      const timestamp = timed === undefined || rawTimestamp === undefined ? undefined : parseTimestamp(rawTimestamp, `\`${timed.header}\``, timed.header, scheme);
      if (!signature.startsWith(prefix)) {
        throw new WebhookVerificationError('malformed', `\`${header}\` must start with \`${prefix}\` followed by the signature.`, { scheme, header });
      }
      const signed = rawTimestamp === undefined ? [body] : [rawTimestamp, '.', body];
      const expected = keys.map((key) => encodeSignature(hmac(algorithm, key, signed), encoding));
      if (!matchesAny([signature.slice(prefix.length)], expected)) {
        throw new WebhookVerificationError(
          'bad-signature',
          `\`${header}\` does not match the body under the ${keys.length} configured secret${plural}. ` +
            'Verify the raw body exactly as received (never re-serialized JSON), and check the secret.',
          { scheme, header },
        );
      }
      if (timed === undefined || timestamp === undefined) return { id };
      checkWindow(timestamp, timed.window, `\`${timed.header}\``, timed.header, scheme);
      return { id, timestamp };
    },
  };
}

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'expected an HTTP header name such as `x-signature`' });

const schema = z.strictObject({
  header: headerName,
  algorithm: z.enum(['sha256', 'sha512', 'sha1']),
  encoding: z.enum(['hex', 'base64', 'base64url']),
  prefix: z
    .string()
    .regex(/^[\x20-\x7e]*$/, { error: 'expected printable ASCII text such as `sha256=`' })
    .optional(),
  timestampHeader: headerName.optional(),
  signedPayload: z.enum(['body', 'timestamp.body']).optional(),
  idHeader: headerName,
  ...toleranceShape,
});

const PUBLIC_KEYS = ['header', 'algorithm', 'encoding', 'prefix', 'timestampHeader', 'signedPayload', 'idHeader', 'toleranceSeconds', 'clock'];

/**
 * Verifies any sender that signs with an HMAC in one header: the generic scheme for everything the named
 * schemes do not cover.
 *
 * The signature is the HMAC (`algorithm`, keyed with the secret's UTF-8 bytes) of the raw body, or of
 * `<timestamp>.<raw body>` when the sender puts a signed timestamp in `timestampHeader`; it is written
 * with `encoding` after `prefix`. The event id comes from `idHeader`. Without a timestamp, a captured
 * request can be replayed; the inbox's deduplication then catches only replays with the same id.
 *
 * @throws {InvalidOptionsError} at construction, for a missing, empty or whitespace-containing secret, a
 * bad header name, algorithm or encoding, an unsigned `timestampHeader`, or tolerance options without
 * a timestamp.
 * @example
 * ```ts
 * import { hmacSignature } from 'syncline/webhooks';
 *
 * const verifier = hmacSignature({
 *   secrets: process.env.CARRIER_WEBHOOK_SECRET ?? '',
 *   header: 'x-carrier-signature',
 *   algorithm: 'sha512',
 *   encoding: 'base64',
 *   idHeader: 'x-carrier-delivery',
 * });
 * ```
 */
export function hmacSignature(options: HmacSignatureOptions): WebhookVerifier {
  const where = 'hmacSignature';
  const { options: parsed, secrets } = parsePublicOptions(schema, options, where, PUBLIC_KEYS);
  const keys = parseSecrets(
    secrets,
    { label: `${where}.secrets`, name: 'secrets', innerSpaces: true },
    utf8Secret,
    'Pass the signing secret from the sender’s settings, or every active one during rotation.',
  );
  const header = parsed.header.toLowerCase();
  const idHeader = parsed.idHeader.toLowerCase();
  const timestampHeader = parsed.timestampHeader?.toLowerCase();
  const signedPayload = parsed.signedPayload ?? (timestampHeader === undefined ? 'body' : 'timestamp.body');

  const fail = (message: string, path: string): never => {
    throw new InvalidOptionsError(`${message}.`, [path]);
  };
  if (timestampHeader === undefined) {
    if (signedPayload === 'timestamp.body') {
      fail(`Expected \`${where}.timestampHeader\` to be set when \`signedPayload\` is \`'timestamp.body'\`, got undefined: name the header with the signed timestamp`, 'timestampHeader');
    }
    if (parsed.toleranceSeconds !== undefined || parsed.clock !== undefined) {
      fail(`Expected \`${where}.timestampHeader\` to be set when \`toleranceSeconds\` or \`clock\` is, got undefined: without a timestamp there is no window to check`, 'timestampHeader');
    }
  } else if (signedPayload === 'body') {
    fail(
      `Expected \`${where}.signedPayload\` to be \`'timestamp.body'\` when \`timestampHeader\` is set, got \`'body'\`: a timestamp outside the signature can be changed by anyone, so checking it protects nothing. ` +
        'Drop `timestampHeader` if the sender does not sign it',
      'signedPayload',
    );
  }
  const names = [header, idHeader, ...(timestampHeader === undefined ? [] : [timestampHeader])];
  if (new Set(names).size !== names.length) {
    fail(`Expected \`${where}.header\`, \`idHeader\` and \`timestampHeader\` to name different headers, got \`${names.join('`, `')}\``, 'idHeader');
  }

  return buildHmacVerifier({
    scheme: 'hmac',
    keys,
    algorithm: parsed.algorithm,
    encoding: parsed.encoding,
    prefix: parsed.prefix ?? '',
    header,
    idHeader,
    ...(timestampHeader === undefined ? {} : { timestamp: { header: timestampHeader, window: resolveWindow(parsed as TimestampToleranceOptions) } }),
    hint: `This sender puts the signature in \`${header}\` and the event id in \`${idHeader}\`${timestampHeader === undefined ? '' : `, the timestamp in \`${timestampHeader}\``}: is this endpoint set up for the right sender, and does no proxy strip headers?`,
  });
}

const signSchema = z.strictObject({
  algorithm: schema.shape.algorithm,
  encoding: schema.shape.encoding,
  prefix: schema.shape.prefix,
  timestamp: z.number().optional(),
});

/** Options of {@link signHmacWebhook}. */
export interface SignHmacWebhookOptions {
  /** The HMAC hash. */
  readonly algorithm: HmacAlgorithm;
  /** How the signature is written. */
  readonly encoding: SignatureEncoding;
  /**
   * Text before the signature.
   * @default ''
   */
  readonly prefix?: string;
  /**
   * A timestamp in seconds to sign as `<timestamp>.<body>`.
   * @default undefined (the body alone is signed)
   */
  readonly timestamp?: number;
}

/**
 * Signs like an {@link hmacSignature} sender: returns the signature header's value for the raw body.
 *
 * @throws {InvalidOptionsError} for a bad secret or a timestamp that is not whole seconds.
 * @example
 * ```ts
 * import { signHmacWebhook } from 'syncline/webhooks';
 *
 * const timestamp = Math.floor(Date.now() / 1000);
 * const signature = signHmacWebhook('carrier-secret', body, { algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=', timestamp });
 * ```
 */
export function signHmacWebhook(secret: string, body: Uint8Array | string, options: SignHmacWebhookOptions): string {
  const where = 'signHmacWebhook';
  const [key] = parseSecrets(secret, { label: `${where}(secret)`, name: 'secret', innerSpaces: true }, utf8Secret, 'Pass the shared signing secret.') as [Buffer];
  parseOptions(signSchema, options, `${where}(secret, body, options)`);
  const bytes = bodyBytes(body);
  const signed = options.timestamp === undefined ? [bytes] : [secondsText(options.timestamp, where), '.', bytes];
  return `${options.prefix ?? ''}${encodeSignature(hmac(options.algorithm, key, signed), options.encoding)}`;
}
