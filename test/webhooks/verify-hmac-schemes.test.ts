import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { githubSignature, signGithubWebhook } from '../../src/webhooks/verify/github-signature.js';
import { hmacSignature, signHmacWebhook, type HmacSignatureOptions } from '../../src/webhooks/verify/hmac-signature.js';
import { shopifySignature, signShopifyWebhook } from '../../src/webhooks/verify/shopify-signature.js';
import { rejectionOf } from './verify-support.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0) + 250;
const nowSeconds = Math.floor(NOW / 1000);


function invalidOptionsOf(build: () => unknown): InvalidOptionsError {
  let caught: unknown;
  try {
    build();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionsError);
  return caught as InvalidOptionsError;
}

/** One-byte change of a printable-ASCII string, to another printable-ASCII character. */
function mutateText(text: string, at: number, delta: number): string {
  const index = at % text.length;
  const code = 0x20 + ((text.charCodeAt(index) - 0x20 + delta) % 95);
  return `${text.slice(0, index)}${String.fromCharCode(code)}${text.slice(index + 1)}`;
}

function mutateByte(bytes: Uint8Array, at: number, delta: number): Buffer {
  const copy = Buffer.from(bytes);
  const index = at % copy.length;
  copy[index] = (copy[index]! + delta) % 256;
  return copy;
}

const secretArb = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'), minLength: 8, maxLength: 64 });
const bodyArb = fc.oneof(fc.json(), fc.uint8Array({ minLength: 1, maxLength: 300 }));
const asBytes = (body: string | Uint8Array): Buffer => Buffer.from(body);

describe('shopifySignature', () => {
  const SECRET = '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';
  const BODY = '{"id":820982911946154508,"email":"jon@example.com","total_price":"10.00"}';
  // Computed with node:crypto, independently of the code under test.
  const expected = createHmac('sha256', SECRET).update(BODY, 'utf8').digest('base64');
  const verifier = shopifySignature({ secrets: SECRET });
  const headers = { 'x-shopify-hmac-sha256': expected, 'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' };

  it('accepts the base64 HMAC of the raw body and returns X-Shopify-Webhook-Id, with no timestamp', () => {
    const result = verifier.verify({ headers, body: BODY });
    expect(result).toEqual({ id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' });
    expect('timestamp' in result).toBe(false);
    expect(verifier.verify({ headers: new Headers({ 'X-Shopify-Hmac-Sha256': expected, 'X-Shopify-Webhook-Id': 'w1' }), body: Buffer.from(BODY) }).id).toBe('w1');
    expect(signShopifyWebhook(SECRET, BODY)).toBe(expected);
  });

  it('rejects missing headers, naming them', () => {
    expect(rejectionOf(verifier, { 'x-shopify-webhook-id': 'w1' }, BODY, [SECRET]).header).toBe('x-shopify-hmac-sha256');
    const error = rejectionOf(verifier, { 'x-shopify-hmac-sha256': expected }, BODY, [SECRET, expected]);
    expect(error.reason).toBe('missing-header');
    expect(error.header).toBe('x-shopify-webhook-id');
  });

  it('rejects re-serialized JSON and a wrong secret', () => {
    expect(rejectionOf(verifier, headers, JSON.stringify(JSON.parse(BODY)), [SECRET, expected]).reason).toBe('bad-signature');
    expect(rejectionOf(shopifySignature({ secrets: 'shpss_other' }), headers, BODY, [expected]).reason).toBe('bad-signature');
  });

  it('accepts a request signed with any configured secret during rotation', () => {
    expect(shopifySignature({ secrets: ['shpss_new', SECRET] }).verify({ headers, body: BODY }).id).toBe(headers['x-shopify-webhook-id']);
  });

  it('refuses an access token, an empty secret or one with whitespace at construction', () => {
    expect(invalidOptionsOf(() => shopifySignature({ secrets: 'shpat_0123456789abcdef' })).message).toContain('access token');
    expect(invalidOptionsOf(() => shopifySignature({ secrets: '' })).paths).toEqual(['secrets']);
    expect(invalidOptionsOf(() => shopifySignature({ secrets: ` ${SECRET}` })).message).not.toContain(SECRET);
  });

  it('rejects any one-byte change to the body or the signature', () => {
    fc.assert(
      fc.property(secretArb, bodyArb, fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 94 }), fc.integer({ min: 1, max: 255 }), (secret, body, onBody, at, delta, byteDelta) => {
        const signature = createHmac('sha256', secret).update(asBytes(body)).digest('base64');
        const shopify = shopifySignature({ secrets: secret });
        expect(shopify.verify({ headers: { 'x-shopify-hmac-sha256': signature, 'x-shopify-webhook-id': 'w' }, body }).id).toBe('w');
        const sent = onBody ? mutateByte(asBytes(body), at, byteDelta) : body;
        const header = onBody ? signature : mutateText(signature, at, delta);
        expect(rejectionOf(shopify, { 'x-shopify-hmac-sha256': header, 'x-shopify-webhook-id': 'w' }, sent, [secret, signature]).reason).toBe('bad-signature');
      }),
      { numRuns: 300 },
    );
  });
});

describe('githubSignature', () => {
  // The example in GitHub's "Validating webhook deliveries".
  const SECRET = "It's a Secret to Everybody";
  const BODY = 'Hello, World!';
  const DOCUMENTED = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  const verifier = githubSignature({ secrets: SECRET });
  const headers = { 'x-hub-signature-256': DOCUMENTED, 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };

  it('matches the documented vector and node:crypto', () => {
    expect(`sha256=${createHmac('sha256', SECRET).update(BODY).digest('hex')}`).toBe(DOCUMENTED);
    expect(signGithubWebhook(SECRET, BODY)).toBe(DOCUMENTED);
  });

  it('accepts the documented delivery and returns X-GitHub-Delivery as the id', () => {
    expect(verifier.verify({ headers, body: BODY })).toEqual({ id: headers['x-github-delivery'] });
    expect(verifier.verify({ headers: new Headers(headers), body: Buffer.from(BODY) }).id).toBe(headers['x-github-delivery']);
  });

  it('allows inner spaces in the user-chosen secret, but not line breaks, tabs or whitespace at an end', () => {
    for (const secret of [`${SECRET}\n`, ` ${SECRET}`, 'It\'s a\tSecret']) {
      const error = invalidOptionsOf(() => githubSignature({ secrets: secret }));
      expect(error.message).toContain('a line break, a tab, or whitespace at an end');
      expect(error.message).not.toContain('Secret to');
    }
    expect(invalidOptionsOf(() => githubSignature({ secrets: '' })).paths).toEqual(['secrets']);
  });

  it('accepts a request signed with any configured secret during rotation', () => {
    expect(githubSignature({ secrets: ['new-secret', SECRET] }).verify({ headers, body: BODY }).id).toBe(headers['x-github-delivery']);
    expect(rejectionOf(githubSignature({ secrets: ['new-secret'] }), headers, BODY, [DOCUMENTED.slice(7)]).reason).toBe('bad-signature');
  });

  it('rejects a signature without the sha256= prefix as malformed, and upper-case hex as bad-signature', () => {
    const bare = DOCUMENTED.slice('sha256='.length);
    expect(rejectionOf(verifier, { ...headers, 'x-hub-signature-256': bare }, BODY, [bare]).reason).toBe('malformed');
    expect(rejectionOf(verifier, { ...headers, 'x-hub-signature-256': `sha256=${bare.toUpperCase()}` }, BODY, [bare]).reason).toBe('bad-signature');
  });

  it('does not fall back to the legacy SHA-1 X-Hub-Signature', () => {
    const error = rejectionOf(verifier, { 'x-hub-signature': 'sha1=abc', 'x-github-delivery': 'd1' }, BODY, []);
    expect(error.reason).toBe('missing-header');
    expect(error.message).toContain('`x-hub-signature-256`');
  });

  it('rejects any one-byte change to the body or the signature', () => {
    fc.assert(
      fc.property(secretArb, bodyArb, fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 94 }), fc.integer({ min: 1, max: 255 }), (secret, body, onBody, at, delta, byteDelta) => {
        const signature = `sha256=${createHmac('sha256', secret).update(asBytes(body)).digest('hex')}`;
        const github = githubSignature({ secrets: secret });
        expect(github.verify({ headers: { 'x-hub-signature-256': signature, 'x-github-delivery': 'd' }, body }).id).toBe('d');
        const sent = onBody ? mutateByte(asBytes(body), at, byteDelta) : body;
        const header = onBody ? signature : mutateText(signature, at, delta);
        const reason = rejectionOf(github, { 'x-hub-signature-256': header, 'x-github-delivery': 'd' }, sent, [secret, signature.slice(7)]).reason;
        expect(['bad-signature', 'malformed']).toContain(reason);
      }),
      { numRuns: 300 },
    );
  });
});

describe('hmacSignature', () => {
  const SECRET = 'carrier-secret-9f8e7d6c5b4a';
  const BODY = '{"parcel":"P-1042","status":"delivered"}';
  const clock = new FakeClock({ now: NOW });
  const base = { secrets: SECRET, header: 'X-Carrier-Signature', idHeader: 'X-Carrier-Delivery' } as const;

  const cases = (['sha256', 'sha512', 'sha1'] as const).flatMap((algorithm) =>
    (['hex', 'base64', 'base64url'] as const).flatMap((encoding) =>
      [undefined, 'v1='].flatMap((prefix) => [false, true].map((timed) => ({ algorithm, encoding, prefix, timed }))),
    ),
  );

  it.each(cases)('verifies $algorithm/$encoding, prefix $prefix, timestamp $timed against node:crypto', ({ algorithm, encoding, prefix, timed }) => {
    const options: HmacSignatureOptions = {
      ...base,
      algorithm,
      encoding,
      ...(prefix === undefined ? {} : { prefix }),
      ...(timed ? { timestampHeader: 'X-Carrier-Timestamp', clock } : {}),
    };
    const verifier = hmacSignature(options);
    const timestamp = String(nowSeconds - 10);
    const mac = createHmac(algorithm, SECRET);
    if (timed) mac.update(`${timestamp}.`);
    const signature = `${prefix ?? ''}${mac.update(BODY).digest(encoding)}`;
    const headers: Record<string, string> = { 'x-carrier-signature': signature, 'x-carrier-delivery': 'dlv_1' };
    if (timed) headers['x-carrier-timestamp'] = timestamp;

    expect(verifier.verify({ headers, body: BODY })).toEqual(timed ? { id: 'dlv_1', timestamp: nowSeconds - 10 } : { id: 'dlv_1' });
    expect(signHmacWebhook(SECRET, BODY, { algorithm, encoding, ...(prefix === undefined ? {} : { prefix }), ...(timed ? { timestamp: nowSeconds - 10 } : {}) })).toBe(signature);
    expect(rejectionOf(verifier, headers, `${BODY} `, [SECRET, signature]).reason).toBe('bad-signature');
    if (timed) {
      expect(rejectionOf(verifier, { ...headers, 'x-carrier-timestamp': String(nowSeconds - 11) }, BODY, [SECRET, signature]).reason).toBe('bad-signature');
      expect(rejectionOf(verifier, { ...headers, 'x-carrier-timestamp': `${timestamp}000` }, BODY, [SECRET, signature]).reason).toBe('malformed');
    }
    if (prefix !== undefined) {
      expect(rejectionOf(verifier, { ...headers, 'x-carrier-signature': signature.slice(prefix.length) }, BODY, [SECRET, signature]).reason).toBe('malformed');
    }
  });

  it('compares base64url unpadded and base64 padded, exactly as written', () => {
    const verifier = hmacSignature({ ...base, algorithm: 'sha256', encoding: 'base64url' });
    const unpadded = createHmac('sha256', SECRET).update(BODY).digest('base64url');
    expect(verifier.verify({ headers: { 'x-carrier-signature': unpadded, 'x-carrier-delivery': 'd' }, body: BODY }).id).toBe('d');
    expect(rejectionOf(verifier, { 'x-carrier-signature': `${unpadded}=`, 'x-carrier-delivery': 'd' }, BODY, [unpadded]).reason).toBe('bad-signature');
    const standard = createHmac('sha256', SECRET).update(BODY).digest('base64');
    expect(rejectionOf(verifier, { 'x-carrier-signature': standard, 'x-carrier-delivery': 'd' }, BODY, [standard]).reason).toBe('bad-signature');
  });

  it('rejects timestamps outside the tolerance, signed or not', () => {
    const verifier = hmacSignature({ ...base, algorithm: 'sha256', encoding: 'hex', timestampHeader: 'x-carrier-timestamp', clock, toleranceSeconds: 60 });
    const at = (seconds: number): Record<string, string> => ({
      'x-carrier-signature': signHmacWebhook(SECRET, BODY, { algorithm: 'sha256', encoding: 'hex', timestamp: seconds }),
      'x-carrier-timestamp': String(seconds),
      'x-carrier-delivery': 'd',
    });
    expect(verifier.verify({ headers: at(nowSeconds - 60), body: BODY }).timestamp).toBe(nowSeconds - 60);
    expect(rejectionOf(verifier, at(nowSeconds - 61), BODY, [SECRET]).reason).toBe('stale');
    expect(rejectionOf(verifier, at(nowSeconds + 61), BODY, [SECRET]).reason).toBe('future');
    expect(rejectionOf(verifier, { ...at(nowSeconds), 'x-carrier-timestamp': `${NOW}` }, BODY, [SECRET]).reason).toBe('malformed');
  });

  it('rejects a missing id header', () => {
    const verifier = hmacSignature({ ...base, algorithm: 'sha256', encoding: 'hex' });
    const signature = signHmacWebhook(SECRET, BODY, { algorithm: 'sha256', encoding: 'hex' });
    const error = rejectionOf(verifier, { 'x-carrier-signature': signature }, BODY, [SECRET, signature]);
    expect(error.reason).toBe('missing-header');
    expect(error.header).toBe('x-carrier-delivery');
  });

  it('rejects any one-byte change to the timestamp, body or signature', () => {
    const verifier = hmacSignature({ ...base, algorithm: 'sha512', encoding: 'base64', prefix: 'sha512=', timestampHeader: 'x-carrier-timestamp', clock });
    fc.assert(
      fc.property(
        bodyArb,
        fc.integer({ min: -300, max: 300 }),
        fc.constantFrom('timestamp', 'body', 'signature'),
        fc.nat(),
        fc.integer({ min: 1, max: 94 }),
        fc.integer({ min: 1, max: 255 }),
        (body, offset, target, at, delta, byteDelta) => {
          const timestamp = String(nowSeconds + offset);
          const signature = `sha512=${createHmac('sha512', SECRET).update(`${timestamp}.`).update(asBytes(body)).digest('base64')}`;
          const headers = { 'x-carrier-signature': signature, 'x-carrier-timestamp': timestamp, 'x-carrier-delivery': 'd' };
          expect(verifier.verify({ headers, body }).timestamp).toBe(nowSeconds + offset);
          let sent: string | Uint8Array = body;
          if (target === 'timestamp') headers['x-carrier-timestamp'] = mutateText(timestamp, at, delta);
          else if (target === 'signature') headers['x-carrier-signature'] = mutateText(signature, at, delta);
          else sent = mutateByte(asBytes(body), at, byteDelta);
          expect(rejectionOf(verifier, headers, sent, [SECRET, signature.slice(7)]).reason).not.toBe('missing-header');
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['an unsigned timestamp', { timestampHeader: 'x-ts', signedPayload: 'body' }, 'signedPayload', 'protects nothing'],
    ['a signed timestamp without its header', { signedPayload: 'timestamp.body' }, 'timestampHeader', 'timestampHeader'],
    ['a tolerance without a timestamp', { toleranceSeconds: 60 }, 'timestampHeader', 'no window to check'],
    ['a header name with a space', { header: 'x signature' }, 'header', 'HTTP header name'],
    ['the same header twice', { idHeader: 'x-carrier-SIGNATURE' }, 'idHeader', 'different headers'],
    ['an unknown algorithm', { algorithm: 'md5' }, 'algorithm', '"sha256", "sha512", "sha1"'],
    ['an unknown encoding', { encoding: 'binary' }, 'encoding', '"hex", "base64", "base64url"'],
    ['no id header', { idHeader: undefined }, 'idHeader', 'hmacSignature.idHeader'],
  ])('refuses %s at construction', (_, change, path, why) => {
    const options = { ...base, algorithm: 'sha256', encoding: 'hex', ...change };
    const error = invalidOptionsOf(() => hmacSignature(options as unknown as HmacSignatureOptions));
    expect(error.paths).toEqual([path]);
    expect(error.message).toContain(why);
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses bad secrets and misspelt options without quoting a secret', () => {
    const options = { ...base, algorithm: 'sha256', encoding: 'hex' } as const;
    expect(invalidOptionsOf(() => hmacSignature({ ...options, secrets: `${SECRET}\r\n` })).message).toContain('a line break, a tab, or whitespace at an end at position 27');
    expect(invalidOptionsOf(() => hmacSignature({ ...options, secrets: [] })).paths).toEqual(['secrets']);
    const { secrets: _, ...rest } = options;
    const error = invalidOptionsOf(() => hmacSignature({ ...rest, secret: SECRET } as never));
    expect(error.message).not.toContain(SECRET);
  });
});
