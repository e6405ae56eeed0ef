import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { Webhook, WebhookVerificationError as ReferenceVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { signStandardWebhook, standardWebhooks } from '../../src/webhooks/verify/standard-webhooks.js';
import type { WebhookHeaders, WebhookVerifier } from '../../src/webhooks/verify/webhook-verifier.js';
import { WebhookVerificationError, type WebhookRejectionReason } from '../../src/webhooks/verify/webhook-verification-error.js';
import { rejectionOf as sharedRejectionOf } from './verify-support.js';

// The fixtures of the reference suite (standard-webhooks libraries/javascript/src/webhook.test.ts).
const defaultMsgID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const defaultPayload = '{"test": 2432232314}';
const defaultSecret = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const toleranceMs = 5 * 60 * 1000;

// A fixed instant with a sub-second part, so flooring to seconds is exercised.
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0) + 345;
const nowSeconds = Math.floor(NOW / 1000);

/** Signs with node:crypto, independently of the code under test. */
function referenceSignature(secretBase64: string, id: string, timestamp: string, body: string | Uint8Array): string {
  const mac = createHmac('sha256', Buffer.from(secretBase64, 'base64'));
  mac.update(`${id}.${timestamp}.`);
  mac.update(body);
  return mac.digest('base64');
}

/** The reference suite's `TestPayload`: headers of a validly signed request at `timestampMs`. */
function testPayload(timestampMs = NOW): { payload: string; headers: Record<string, string>; signature: string } {
  const timestamp = String(Math.floor(timestampMs / 1000));
  const signature = referenceSignature(defaultSecret, defaultMsgID, timestamp, defaultPayload);
  return {
    payload: defaultPayload,
    signature,
    headers: { 'webhook-id': defaultMsgID, 'webhook-signature': `v1,${signature}`, 'webhook-timestamp': timestamp },
  };
}

function rejectionOf(verifier: WebhookVerifier, headers: WebhookHeaders, body: string | Uint8Array, forbidden: readonly string[] = []): WebhookVerificationError {
  return sharedRejectionOf(verifier, headers, body, [defaultSecret, ...forbidden]);
}

function reasonOf(verifier: WebhookVerifier, headers: WebhookHeaders, body: string | Uint8Array): WebhookRejectionReason {
  const signatures = Object.values(headers as Record<string, string>).flatMap((value) => String(value).split(/[ ,]/));
  return rejectionOf(verifier, headers, body, signatures).reason;
}

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

describe('standardWebhooks: the reference test suite', () => {
  const clock = new FakeClock({ now: NOW });
  const verifier = standardWebhooks({ secrets: defaultSecret, clock });

  it('refuses an empty, missing or null key at construction', () => {
    for (const secrets of ['', undefined, null]) {
      const error = invalidOptionsOf(() => standardWebhooks({ secrets: secrets as unknown as string }));
      expect(error.paths).toEqual(['secrets']);
      expect(error.message).toContain('There is no option to skip verification');
    }
    expect(() => standardWebhooks({} as never)).toThrow(InvalidOptionsError);
    expect(() => standardWebhooks(undefined as never)).toThrow(InvalidOptionsError);
  });

  it('rejects a missing id', () => {
    const { payload, headers } = testPayload();
    delete headers['webhook-id'];
    const error = rejectionOf(verifier, headers, payload);
    expect(error.reason).toBe('missing-header');
    expect(error.header).toBe('webhook-id');
    expect(error.message).toContain('`webhook-id`');
  });

  it('rejects a missing timestamp', () => {
    const { payload, headers } = testPayload();
    delete headers['webhook-timestamp'];
    expect(rejectionOf(verifier, headers, payload).reason).toBe('missing-header');
  });

  it('rejects an invalid timestamp', () => {
    const { payload, headers } = testPayload();
    headers['webhook-timestamp'] = 'hello';
    expect(reasonOf(verifier, headers, payload)).toBe('malformed');
  });

  it('rejects a missing signature', () => {
    const { payload, headers } = testPayload();
    delete headers['webhook-signature'];
    expect(rejectionOf(verifier, headers, payload).reason).toBe('missing-header');
  });

  it('names every missing header at once', () => {
    const error = rejectionOf(verifier, {}, defaultPayload);
    expect(error.reason).toBe('missing-header');
    expect(error.message).toContain('`webhook-id`, `webhook-timestamp`, `webhook-signature`');
  });

  it('rejects an invalid signature', () => {
    const { payload, headers } = testPayload();
    headers['webhook-signature'] = 'v1,dawfeoifkpqwoekfpqoekf';
    expect(reasonOf(verifier, headers, payload)).toBe('bad-signature');
  });

  it('rejects a partial signature', () => {
    const { payload, headers } = testPayload();
    headers['webhook-signature'] = headers['webhook-signature']!.slice(0, 8);
    expect(reasonOf(verifier, headers, payload)).toBe('bad-signature');
    headers['webhook-signature'] = 'v1,';
    expect(reasonOf(verifier, headers, payload)).toBe('bad-signature');
  });

  it('accepts a valid signature and returns the id and signed timestamp', () => {
    const { payload, headers } = testPayload();
    expect(verifier.verify({ headers, body: payload })).toEqual({ id: defaultMsgID, timestamp: nowSeconds });
  });

  it('rejects an old timestamp as stale', () => {
    const { payload, headers, signature } = testPayload(NOW - toleranceMs - 1000);
    const error = rejectionOf(verifier, headers, payload, [signature]);
    expect(error.reason).toBe('stale');
    expect(error.message).toContain('301 s old');
  });

  it('rejects a new timestamp as future', () => {
    const { payload, headers, signature } = testPayload(NOW + toleranceMs + 1000);
    const error = rejectionOf(verifier, headers, payload, [signature]);
    expect(error.reason).toBe('future');
    expect(error.message).toContain('301 s in the future');
  });

  it('accepts a multi-signature header in which one signature is valid', () => {
    const { payload, headers } = testPayload();
    headers['webhook-signature'] = [
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      headers['webhook-signature'],
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
    ].join(' ');
    expect(verifier.verify({ headers, body: payload }).id).toBe(defaultMsgID);
  });

  it('accepts the secret with and without the whsec_ prefix', () => {
    const { payload, headers } = testPayload();
    expect(standardWebhooks({ secrets: defaultSecret, clock }).verify({ headers, body: payload }).id).toBe(defaultMsgID);
    expect(standardWebhooks({ secrets: `whsec_${defaultSecret}`, clock }).verify({ headers, body: payload }).id).toBe(defaultMsgID);
  });

  it('signs the reference vector', () => {
    expect(signStandardWebhook(`whsec_${defaultSecret}`, defaultMsgID, 1614265330, defaultPayload)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(signStandardWebhook(defaultSecret, defaultMsgID, 1614265330, Buffer.from(defaultPayload))).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});

describe('standardWebhooks: timestamp window', () => {
  it('accepts exactly the tolerance in both directions and rejects one second more', () => {
    const verifier = standardWebhooks({ secrets: defaultSecret, clock: new FakeClock({ now: NOW }) });
    const at = (seconds: number): Record<string, string> => {
      const timestamp = String(seconds);
      return { 'webhook-id': 'msg_1', 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${referenceSignature(defaultSecret, 'msg_1', timestamp, 'x')}` };
    };
    expect(verifier.verify({ headers: at(nowSeconds - 300), body: 'x' }).timestamp).toBe(nowSeconds - 300);
    expect(verifier.verify({ headers: at(nowSeconds + 300), body: 'x' }).timestamp).toBe(nowSeconds + 300);
    expect(reasonOf(verifier, at(nowSeconds - 301), 'x')).toBe('stale');
    expect(reasonOf(verifier, at(nowSeconds + 301), 'x')).toBe('future');
  });

  it('takes the tolerance from `toleranceSeconds`', () => {
    const verifier = standardWebhooks({ secrets: defaultSecret, clock: new FakeClock({ now: NOW }), toleranceSeconds: 60 });
    expect(verifier.verify({ headers: testPayload(NOW - 60_000).headers, body: defaultPayload }).id).toBe(defaultMsgID);
    expect(reasonOf(verifier, testPayload(NOW - 61_000).headers, defaultPayload)).toBe('stale');
    expect(reasonOf(verifier, testPayload(NOW + 61_000).headers, defaultPayload)).toBe('future');
  });

  it('reads now from the injected clock on every request', async () => {
    const clock = new FakeClock({ now: NOW });
    const verifier = standardWebhooks({ secrets: defaultSecret, clock });
    const { payload, headers } = testPayload();
    expect(verifier.verify({ headers, body: payload }).id).toBe(defaultMsgID);
    await clock.advance(301_000);
    expect(reasonOf(verifier, headers, payload)).toBe('stale');
  });

  it('checks the signature before the window, so `stale` always means an authentic late request', () => {
    const verifier = standardWebhooks({ secrets: defaultSecret, clock: new FakeClock({ now: NOW }) });
    const { payload, headers } = testPayload(NOW - 3_600_000);
    headers['webhook-signature'] = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    expect(reasonOf(verifier, headers, payload)).toBe('bad-signature');
  });

  it('refuses a tolerance that is not a whole number of seconds from 1 to 86400', () => {
    for (const toleranceSeconds of [0, -1, 1.5, 86_401, Number.NaN]) {
      const error = invalidOptionsOf(() => standardWebhooks({ secrets: defaultSecret, toleranceSeconds }));
      expect(error.paths).toEqual(['toleranceSeconds']);
      expect(error.message).toContain('standardWebhooks.toleranceSeconds');
    }
  });
});

describe('standardWebhooks: strict timestamps', () => {
  const verifier = standardWebhooks({ secrets: defaultSecret, clock: new FakeClock({ now: NOW }) });
  /** Headers whose signature is valid over the exact (bad) timestamp text: only strict parsing can reject them. */
  const signedAt = (timestamp: string): Record<string, string> => ({
    'webhook-id': defaultMsgID,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${referenceSignature(defaultSecret, defaultMsgID, timestamp, defaultPayload)}`,
  });

  it.each([
    [`${nowSeconds}abc`, 'has characters after the digits'],
    [`${NOW}`, 'looks like milliseconds'],
    [`${nowSeconds}000000`, 'looks like milliseconds'],
    [` ${nowSeconds}`, 'contains whitespace'],
    [`${nowSeconds} `, 'contains whitespace'],
    [`${nowSeconds}\t`, 'contains whitespace'],
    [`-${nowSeconds}`, 'is negative'],
    [`+${nowSeconds}`, 'has a sign'],
    [`${nowSeconds}.0`, 'has a fraction'],
    [`${nowSeconds}.5`, 'has a fraction'],
    [`0${nowSeconds}`, 'has leading zeros'],
    ['1.7e9', 'has characters after the digits'],
    ['0x69565E40', 'has characters after the digits'],
    ['hello', 'is not a number'],
  ])('rejects the timestamp %j as malformed (%s)', (timestamp, why) => {
    const error = rejectionOf(verifier, signedAt(timestamp), defaultPayload);
    expect(error.reason).toBe('malformed');
    expect(error.header).toBe('webhook-timestamp');
    expect(error.message).toContain(why);
  });

  it('treats an empty timestamp as missing', () => {
    expect(reasonOf(verifier, signedAt(''), defaultPayload)).toBe('missing-header');
  });

  it('rejects a timestamp with trailing characters that the reference library lets through', () => {
    // The reference parses with parseInt and signs the parsed number, so junk after the digits passes.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(NOW);
      const headers = { ...testPayload().headers, 'webhook-timestamp': `${nowSeconds}abc` };
      expect(() => new Webhook(defaultSecret).verify(defaultPayload, headers)).not.toThrow();
      expect(reasonOf(verifier, headers, defaultPayload)).toBe('malformed');
    } finally {
      vi.useRealTimers();
    }
  });

  it('compares each signature entry as a whole', () => {
    const { payload, headers } = testPayload();
    headers['webhook-signature'] = `${headers['webhook-signature']},extra`;
    expect(reasonOf(verifier, headers, payload)).toBe('bad-signature');
    headers['webhook-signature'] = ` ${testPayload().headers['webhook-signature']}  `;
    expect(verifier.verify({ headers, body: payload }).id).toBe(defaultMsgID);
  });

  it('rejects a header holding only asymmetric (v1a) signatures as bad-signature', () => {
    const { payload, headers, signature } = testPayload();
    headers['webhook-signature'] = `v1a,${signature}`;
    const error = rejectionOf(verifier, headers, payload, [signature]);
    expect(error.reason).toBe('bad-signature');
    expect(error.message).toContain('no `v1,` signature');
  });

  it('rejects more than 20 signatures as malformed without comparing them', () => {
    const { payload, headers } = testPayload();
    headers['webhook-signature'] = Array.from({ length: 20 }, () => 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=').concat(headers['webhook-signature']!).join(' ');
    expect(reasonOf(verifier, headers, payload)).toBe('malformed');
  });

  it('rejects an id longer than 512 characters as malformed', () => {
    const id = 'm'.repeat(513);
    const timestamp = String(nowSeconds);
    const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${referenceSignature(defaultSecret, id, timestamp, 'x')}` };
    expect(reasonOf(verifier, headers, 'x')).toBe('malformed');
  });
});

describe('standardWebhooks: raw bytes and headers', () => {
  const verifier = standardWebhooks({ secrets: defaultSecret, clock: new FakeClock({ now: NOW }) });

  it('verifies the raw bytes, also when they are not valid UTF-8', () => {
    const body = Uint8Array.from([0x7b, 0xff, 0xfe, 0x00, 0x80, 0x7d]);
    const timestamp = String(nowSeconds);
    const headers = { 'webhook-id': 'msg_bin', 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${referenceSignature(defaultSecret, 'msg_bin', timestamp, body)}` };
    expect(verifier.verify({ headers, body }).id).toBe('msg_bin');
    // Decoding to text and back replaces the invalid bytes, and the signature no longer matches.
    expect(reasonOf(verifier, headers, new TextDecoder().decode(body))).toBe('bad-signature');
  });

  it('accepts the body as a string or as bytes, and rejects re-serialized JSON', () => {
    const { payload, headers } = testPayload();
    expect(verifier.verify({ headers, body: Buffer.from(payload) }).id).toBe(defaultMsgID);
    expect(verifier.verify({ headers, body: new TextEncoder().encode(payload) }).id).toBe(defaultMsgID);
    expect(reasonOf(verifier, headers, JSON.stringify(JSON.parse(payload)))).toBe('bad-signature');
  });

  it('refuses a parsed body with a message that says to pass the raw body', () => {
    const { headers } = testPayload();
    expect(() => verifier.verify({ headers, body: JSON.parse(defaultPayload) as never })).toThrow(/raw body/);
    expect(() => verifier.verify({ headers, body: JSON.parse(defaultPayload) as never })).toThrow(InvalidOptionsError);
  });

  it('reads a Fetch Headers object', () => {
    const { payload, headers } = testPayload();
    expect(verifier.verify({ headers: new Headers(headers), body: payload }).id).toBe(defaultMsgID);
  });

  it('reads node IncomingHttpHeaders, including one-element arrays', () => {
    const { payload, headers } = testPayload();
    const incoming: IncomingHttpHeaders = { ...headers, 'webhook-id': [defaultMsgID] as unknown as string, host: 'example.test' };
    expect(verifier.verify({ headers: incoming, body: payload }).id).toBe(defaultMsgID);
  });

  it('matches record keys case-insensitively', () => {
    const { payload, headers } = testPayload();
    const mixed = { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'], 'webhook-Signature': headers['webhook-signature'] };
    expect(verifier.verify({ headers: mixed, body: payload }).id).toBe(defaultMsgID);
  });

  it('rejects a header sent twice with different values as malformed', () => {
    const { payload, headers } = testPayload();
    const error = rejectionOf(verifier, { ...headers, 'Webhook-Id': 'msg_other' }, payload, [testPayload().signature]);
    expect(error.reason).toBe('malformed');
    expect(error.header).toBe('webhook-id');
    expect(verifier.verify({ headers: { ...headers, 'Webhook-Id': defaultMsgID }, body: payload }).id).toBe(defaultMsgID);
  });
});

describe('standardWebhooks: secrets', () => {
  const clock = new FakeClock({ now: NOW });
  const oldSecret = Buffer.alloc(32, 7).toString('base64');

  it('accepts a request signed with any configured secret during rotation', () => {
    const verifier = standardWebhooks({ secrets: [`whsec_${oldSecret}`, defaultSecret], clock });
    const timestamp = String(nowSeconds);
    const signedBy = (secret: string): Record<string, string> => ({
      'webhook-id': 'msg_r',
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${referenceSignature(secret, 'msg_r', timestamp, 'x')}`,
    });
    expect(verifier.verify({ headers: signedBy(oldSecret), body: 'x' }).id).toBe('msg_r');
    expect(verifier.verify({ headers: signedBy(defaultSecret), body: 'x' }).id).toBe('msg_r');
    expect(reasonOf(verifier, signedBy(Buffer.alloc(32, 9).toString('base64')), 'x')).toBe('bad-signature');
  });

  it('accepts a sender that signs with its old and new key while only the new one is configured', () => {
    const { payload, headers } = testPayload();
    const oldSignature = referenceSignature(oldSecret, defaultMsgID, headers['webhook-timestamp']!, payload);
    headers['webhook-signature'] = `v1,${oldSignature} ${headers['webhook-signature']}`;
    expect(standardWebhooks({ secrets: defaultSecret, clock }).verify({ headers, body: payload }).id).toBe(defaultMsgID);
  });

  const bad: ReadonlyArray<readonly [string, string, string]> = [
    ['trailing newline', `${defaultSecret}\n`, 'whitespace at position 32'],
    ['inner space', `whsec_${defaultSecret.slice(0, 10)} ${defaultSecret.slice(10)}`, 'whitespace at position 16'],
    ['16 bytes (too short)', Buffer.alloc(16, 1).toString('base64'), 'decodes to 16 bytes'],
    ['65 bytes (too long)', `whsec_${Buffer.alloc(65, 1).toString('base64')}`, 'decodes to 65 bytes'],
    ['not base64', 'whsec_not-base64!!not-base64!!not-base64', 'padded standard base64'],
    ['unpadded base64', Buffer.alloc(25, 1).toString('base64').replace(/=+$/, ''), 'padded standard base64'],
    ['only the prefix', 'whsec_', 'padded standard base64'],
    ['asymmetric key', `whsk_${Buffer.alloc(64, 3).toString('base64')}`, 'asymmetric'],
  ];

  it.each(bad)('refuses a secret (%s) at construction, without quoting it', (_, secret, why) => {
    const error = invalidOptionsOf(() => standardWebhooks({ secrets: secret }));
    expect(error.message).toContain(why);
    expect(error.message).toContain('standardWebhooks.secrets');
    const core = secret.replace(/^wh(?:sec|sk)_/, '').trim();
    if (core.length >= 6) expect(error.message).not.toContain(core.slice(0, 6));
  });

  it('reports every bad secret of a list by its index', () => {
    const error = invalidOptionsOf(() => standardWebhooks({ secrets: [defaultSecret, '', 42 as unknown as string] }));
    expect(error.paths).toEqual(['secrets.1', 'secrets.2']);
    expect(invalidOptionsOf(() => standardWebhooks({ secrets: [] })).message).toContain('got an empty array');
  });

  it('never echoes a secret passed under a misspelt option or instead of the options', () => {
    const error = invalidOptionsOf(() => standardWebhooks({ secret: defaultSecret } as never));
    expect(error.message).toContain('`secret`');
    expect(error.message).not.toContain(defaultSecret);
    const direct = invalidOptionsOf(() => standardWebhooks(defaultSecret as never));
    expect(direct.message).toContain('options object');
    expect(direct.message).not.toContain(defaultSecret);
  });

  it('refuses a timestamp in milliseconds when signing', () => {
    expect(() => signStandardWebhook(defaultSecret, 'msg', NOW, 'x')).toThrow(InvalidOptionsError);
    expect(() => signStandardWebhook(defaultSecret, 'msg', 1.5, 'x')).toThrow(InvalidOptionsError);
    expect(() => signStandardWebhook('', 'msg', nowSeconds, 'x')).toThrow(InvalidOptionsError);
  });
});

describe('standardWebhooks: differential against the standardwebhooks package', () => {
  beforeEach(() => {
    // The reference reads Date.now(); ours reads the FakeClock at the same instant.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const clock = new FakeClock({ now: NOW });
  const secretArb = fc
    .tuple(fc.uint8Array({ minLength: 24, maxLength: 64 }), fc.boolean())
    .map(([bytes, prefixed]) => `${prefixed ? 'whsec_' : ''}${Buffer.from(bytes).toString('base64')}`);
  const idArb = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 });
  // U+FFFD excluded: the reference decodes bodies to text, and a replacement character already in the
  // body could make two different byte strings decode alike.
  const bodyArb = fc.oneof(fc.json(), fc.string({ unit: 'grapheme', maxLength: 200 })).filter((body) => !body.includes('\uFFFD'));
  const offsetArb = fc.integer({ min: -300, max: 300 });
  const decoyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => `v1,${Buffer.from(bytes).toString('base64')}`);

  it('accepts what the reference library signs', () => {
    fc.assert(
      fc.property(secretArb, idArb, offsetArb, bodyArb, fc.boolean(), fc.array(decoyArb, { maxLength: 3 }), fc.nat(), (secret, id, offset, body, asBytes, decoys, at) => {
        const timestamp = nowSeconds + offset;
        const signature = new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
        decoys.splice(at % (decoys.length + 1), 0, signature);
        const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': decoys.join(' ') };
        const result = standardWebhooks({ secrets: secret, clock }).verify({ headers, body: asBytes ? Buffer.from(body) : body });
        expect(result).toEqual({ id, timestamp });
      }),
      { numRuns: 300 },
    );
  });

  it('signs what the reference library accepts', () => {
    fc.assert(
      fc.property(secretArb, idArb, offsetArb, bodyArb, fc.boolean(), (secret, id, offset, body, asBytes) => {
        const timestamp = nowSeconds + offset;
        const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(secret, id, timestamp, asBytes ? Buffer.from(body) : body) };
        expect(() => new Webhook(secret).verify(asBytes ? Buffer.from(body) : body, headers, { jsonParse: false })).not.toThrow();
        expect(headers['webhook-signature']).toBe(new Webhook(secret).sign(id, new Date(timestamp * 1000), body));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects, as the reference does, any one-byte change to the id, timestamp, body or signature', () => {
    const mutateText = (text: string, at: number, delta: number): string => {
      const index = at % text.length;
      // Printable ASCII stays printable ASCII, and differs from the original.
      const code = 0x20 + ((text.charCodeAt(index) - 0x20 + delta) % 95);
      return `${text.slice(0, index)}${String.fromCharCode(code)}${text.slice(index + 1)}`;
    };
    fc.assert(
      fc.property(
        secretArb,
        idArb,
        offsetArb,
        bodyArb,
        fc.constantFrom('id', 'timestamp', 'body', 'signature'),
        fc.nat(),
        fc.integer({ min: 1, max: 94 }),
        fc.integer({ min: 1, max: 255 }),
        (secret, id, offset, body, target, at, delta, byteDelta) => {
          const timestamp = String(nowSeconds + offset);
          let bytes = Buffer.from(body);
          const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signStandardWebhook(secret, id, Number(timestamp), bytes) };
          if (target === 'body') {
            fc.pre(bytes.length > 0);
            bytes = Buffer.from(bytes);
            const index = at % bytes.length;
            bytes[index] = (bytes[index]! + byteDelta) % 256;
          } else {
            const name = `webhook-${target}` as const;
            headers[name] = mutateText(headers[name], at, delta);
          }
          const ours = rejectionOf(standardWebhooks({ secrets: secret, clock }), headers, bytes, [secret.replace(/^whsec_/, '')]);
          expect(ours.reason).not.toBe('missing-header');
          expect(() => new Webhook(secret).verify(bytes, headers, { jsonParse: false })).toThrow(ReferenceVerificationError);
        },
      ),
      { numRuns: 500 },
    );
  });
});
