import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors/invalid-options-error.js';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { signStripeWebhook, stripeSignature } from '../../src/webhooks/verify/stripe-signature.js';
import type { WebhookHeaders, WebhookVerifier } from '../../src/webhooks/verify/webhook-verifier.js';
import { WebhookVerificationError } from '../../src/webhooks/verify/webhook-verification-error.js';
import { rejectionOf as sharedRejectionOf } from './verify-support.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0) + 789;
const nowSeconds = Math.floor(NOW / 1000);
const SECRET = 'whsec_test_5f1c0b7e9a2d4c6e8f0a1b3c5d7e9f1a';
const BODY = '{\n  "id": "evt_1QxYz",\n  "object": "event",\n  "type": "payment_intent.succeeded"\n}';
const { StripeSignatureVerificationError } = Stripe.errors;

/** `t.body` signed with node:crypto, independently of the code under test. */
function hexSignature(secret: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

function rejectionOf(verifier: WebhookVerifier, headers: WebhookHeaders, body: string | Uint8Array, forbidden: readonly string[] = []): WebhookVerificationError {
  return sharedRejectionOf(verifier, headers, body, [SECRET, ...forbidden]);
}

describe('stripeSignature', () => {
  const clock = new FakeClock({ now: NOW });
  const verifier = stripeSignature({ secrets: SECRET, clock });
  const signed = (body: string | Uint8Array = BODY, timestamp = String(nowSeconds)): { 'stripe-signature': string } => ({
    'stripe-signature': `t=${timestamp},v1=${hexSignature(SECRET, timestamp, body)}`,
  });

  it('accepts a valid signature and returns the event id from the raw JSON body', () => {
    expect(verifier.verify({ headers: signed(), body: BODY })).toEqual({ id: 'evt_1QxYz', timestamp: nowSeconds });
    expect(verifier.verify({ headers: new Headers({ 'Stripe-Signature': signed()['stripe-signature'] }), body: Buffer.from(BODY) }).id).toBe('evt_1QxYz');
  });

  it('rejects the same event re-serialized', () => {
    const reserialized = JSON.stringify(JSON.parse(BODY));
    expect(rejectionOf(verifier, signed(), reserialized).reason).toBe('bad-signature');
  });

  it('accepts any matching v1 entry and ignores other schemes', () => {
    const timestamp = String(nowSeconds);
    const good = hexSignature(SECRET, timestamp, BODY);
    const other = hexSignature('whsec_other', timestamp, BODY);
    const headers = { 'stripe-signature': `t=${timestamp},v1=${other},v0=${other},v1=${good}` };
    expect(verifier.verify({ headers, body: BODY }).id).toBe('evt_1QxYz');
  });

  it('accepts a request signed with any configured secret during rotation', () => {
    const rotating = stripeSignature({ secrets: ['whsec_new_0123456789abcdef', SECRET], clock });
    expect(rotating.verify({ headers: signed(), body: BODY }).id).toBe('evt_1QxYz');
  });

  it('rejects a missing header', () => {
    const error = rejectionOf(verifier, {}, BODY);
    expect(error.reason).toBe('missing-header');
    expect(error.header).toBe('stripe-signature');
  });

  it.each([
    ['no timestamp', (s: string) => s.replace(/^t=\d+,/, ''), 'no `t=` timestamp'],
    ['two timestamps', (s: string) => `t=${nowSeconds},${s}`, 'more than one `t=`'],
    ['an item without a value', (s: string) => `${s},junk`, 'key=value pairs'],
  ])('rejects a header with %s as malformed', (_, change, why) => {
    const header = change(signed()['stripe-signature']);
    const error = rejectionOf(verifier, { 'stripe-signature': header }, BODY, [hexSignature(SECRET, String(nowSeconds), BODY)]);
    expect(error.reason).toBe('malformed');
    expect(error.message).toContain(why);
  });

  it('rejects a header without a v1 signature as bad-signature', () => {
    const timestamp = String(nowSeconds);
    const error = rejectionOf(verifier, { 'stripe-signature': `t=${timestamp},v0=${hexSignature(SECRET, timestamp, BODY)}` }, BODY);
    expect(error.reason).toBe('bad-signature');
    expect(error.message).toContain('no `v1=` signature');
  });

  it('does not trim entries: ` v1=` is not a v1 signature', () => {
    const timestamp = String(nowSeconds);
    const header = `t=${timestamp}, v1=${hexSignature(SECRET, timestamp, BODY)}`;
    expect(rejectionOf(verifier, { 'stripe-signature': header }, BODY).reason).toBe('bad-signature');
  });

  it.each([
    [`${nowSeconds}abc`, 'characters after the digits'],
    [`${NOW}`, 'looks like milliseconds'],
    [`${nowSeconds}.0`, 'has a fraction'],
    [`-${nowSeconds}`, 'is negative'],
    [` ${nowSeconds}`, 'contains whitespace'],
  ])('rejects the timestamp %j, signed as sent, as malformed', (timestamp, why) => {
    const error = rejectionOf(verifier, signed(BODY, timestamp), BODY, [hexSignature(SECRET, timestamp, BODY)]);
    expect(error.reason).toBe('malformed');
    expect(error.message).toContain(why);
  });

  it('rejects timestamps outside the tolerance in both directions', () => {
    expect(verifier.verify({ headers: signed(BODY, String(nowSeconds - 300)), body: BODY }).timestamp).toBe(nowSeconds - 300);
    expect(verifier.verify({ headers: signed(BODY, String(nowSeconds + 300)), body: BODY }).timestamp).toBe(nowSeconds + 300);
    expect(rejectionOf(verifier, signed(BODY, String(nowSeconds - 301)), BODY).reason).toBe('stale');
    const future = signed(BODY, String(nowSeconds + 301));
    expect(rejectionOf(verifier, future, BODY).reason).toBe('future');
    // Stripe's own check looks only at the past; the future bound is ours.
    expect(() => Stripe.webhooks.constructEvent(BODY, future['stripe-signature'], SECRET, 300, undefined, NOW)).not.toThrow();
    const narrow = stripeSignature({ secrets: SECRET, clock, toleranceSeconds: 30 });
    expect(rejectionOf(narrow, signed(BODY, String(nowSeconds - 31)), BODY).reason).toBe('stale');
  });

  it.each([
    ['not JSON', 'event evt_1', 'is not JSON'],
    ['a JSON array', '[{"id":"evt_1"}]', 'is not a JSON object'],
    ['JSON without an id', '{"object":"event"}', 'has no string `id`'],
    ['JSON with a numeric id', '{"id":42}', 'has no string `id`'],
    ['JSON with an empty id', '{"id":""}', 'has no string `id`'],
  ])('rejects a validly signed body that is %s as malformed', (_, body, why) => {
    const error = rejectionOf(verifier, signed(body), body);
    expect(error.reason).toBe('malformed');
    expect(error.message).toContain(why);
    expect(error.cause).toBeUndefined();
  });

  it('rejects a validly signed body that is not UTF-8 as malformed', () => {
    const body = Uint8Array.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    expect(rejectionOf(verifier, signed(body), body).reason).toBe('malformed');
  });

  it('checks the signature before reading the body', () => {
    expect(rejectionOf(verifier, { 'stripe-signature': `t=${nowSeconds},v1=${'0'.repeat(64)}` }, 'not json').reason).toBe('bad-signature');
  });

  const badSecrets: ReadonlyArray<readonly [string, string, string]> = [
    ['empty', '', 'empty string'],
    ['an API key', 'sk_test_51Hx0123456789abcdefghij', 'API key'],
    ['a restricted key', 'rk_live_51Hx0123456789abcdefghij', 'API key'],
    ['without whsec_', 'abcdefghij0123456789', 'does not start with `whsec_`'],
    ['only the prefix', 'whsec_', 'does not start with `whsec_`'],
    ['with a trailing newline', `${SECRET}\n`, 'whitespace at position'],
  ];

  it.each(badSecrets)('refuses a secret that is %s at construction, without quoting it', (_, secret, why) => {
    let caught: unknown;
    try {
      stripeSignature({ secrets: secret });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidOptionsError);
    const message = (caught as InvalidOptionsError).message;
    expect(message).toContain(why);
    if (secret.length > 8) expect(message).not.toContain(secret.trim().slice(6));
  });

  it('signs what node:crypto computes independently', () => {
    expect(signStripeWebhook(SECRET, nowSeconds, BODY)).toBe(`t=${nowSeconds},v1=${hexSignature(SECRET, String(nowSeconds), BODY)}`);
    expect(() => signStripeWebhook(SECRET, NOW, BODY)).toThrow(InvalidOptionsError);
  });
});

describe('stripeSignature: differential against the stripe package', () => {
  const clock = new FakeClock({ now: NOW });
  const alphanumeric = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
  const secretArb = fc.string({ unit: alphanumeric, minLength: 16, maxLength: 48 }).map((rest) => `whsec_${rest}`);
  const eventIdArb = fc.string({ unit: alphanumeric, minLength: 8, maxLength: 28 }).map((rest) => `evt_${rest}`);
  // Bodies as Stripe-like JSON in varied layouts: verification must use the exact bytes.
  const bodyArb = fc
    .tuple(eventIdArb, fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'))
    .map(([id, data, indent]) => ({ id, body: JSON.stringify({ id, object: 'event', data }, null, indent) }))
    .filter(({ body }) => !body.includes('\uFFFD'));
  const offsetArb = fc.integer({ min: -300, max: 300 });

  it('accepts what stripe.webhooks.generateTestHeaderString signs', () => {
    fc.assert(
      fc.property(secretArb, bodyArb, offsetArb, fc.boolean(), (secret, { id, body }, offset, asBytes) => {
        const timestamp = nowSeconds + offset;
        const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
        const result = stripeSignature({ secrets: secret, clock }).verify({ headers: { 'stripe-signature': header }, body: asBytes ? Buffer.from(body) : body });
        expect(result).toEqual({ id, timestamp });
      }),
      { numRuns: 300 },
    );
  });

  it('signs what stripe.webhooks.constructEvent accepts', () => {
    fc.assert(
      fc.property(secretArb, bodyArb, offsetArb, (secret, { id, body }, offset) => {
        const header = signStripeWebhook(secret, nowSeconds + offset, body);
        const event = Stripe.webhooks.constructEvent(body, header, secret, 300, undefined, NOW);
        expect(event.id).toBe(id);
        expect(header).toBe(Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: nowSeconds + offset }));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects, as Stripe does, any one-byte change to the timestamp, signature or body', () => {
    fc.assert(
      fc.property(
        secretArb,
        bodyArb,
        offsetArb,
        fc.constantFrom('timestamp', 'signature', 'body'),
        fc.nat(),
        fc.integer({ min: 1, max: 94 }),
        fc.integer({ min: 1, max: 255 }),
        (secret, { body }, offset, target, at, delta, byteDelta) => {
          const timestamp = String(nowSeconds + offset);
          let signature = hexSignature(secret, timestamp, body);
          let t = timestamp;
          let bytes = Buffer.from(body);
          const mutate = (text: string): string => {
            const index = at % text.length;
            const code = 0x20 + ((text.charCodeAt(index) - 0x20 + delta) % 95);
            return `${text.slice(0, index)}${String.fromCharCode(code)}${text.slice(index + 1)}`;
          };
          if (target === 'timestamp') t = mutate(t);
          else if (target === 'signature') signature = mutate(signature);
          else {
            bytes = Buffer.from(bytes);
            const index = at % bytes.length;
            bytes[index] = (bytes[index]! + byteDelta) % 256;
          }
          const header = `t=${t},v1=${signature}`;
          const ours = rejectionOf(stripeSignature({ secrets: secret, clock }), { 'stripe-signature': header }, bytes, [secret.slice(6), signature]);
          expect(ours.reason).not.toBe('missing-header');
          // A `,` or `=` put into the signature can empty the v1 entry as Stripe splits it, and Stripe then
          // throws a plain Error ("secureCompare must receive two arguments"): still a rejection.
          const structural = target === 'signature' && /[,=]/.test(signature);
          expect(() => Stripe.webhooks.constructEvent(bytes, header, secret, 300, undefined, NOW)).toThrow(structural ? Error : StripeSignatureVerificationError);
        },
      ),
      { numRuns: 500 },
    );
  });
});
