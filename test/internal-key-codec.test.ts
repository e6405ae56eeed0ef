import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys, decodeKey, encodedPrefixRanges, encodeKey, prefixUpperBound } from '../src/internal/key-codec.js';
import { hostileString } from '../src/testing/conformance/harness.js';

/** Code point order of well-formed strings, as SQLite, PostgreSQL (`COLLATE "C"`) and Redis compare them: by UTF-8 bytes. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function inRanges(encoded: string, prefix: string): boolean {
  return encodedPrefixRanges(prefix).some((r) => byteOrder(encoded, r.from) >= 0 && (r.to === undefined || byteOrder(encoded, r.to) < 0));
}

const strings = [
  hostileString(12),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary-ascii' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) }),
];
const anyString = fc.oneof(...strings);
const runs = { numRuns: 2_000 };

describe('encodeKey / decodeKey', () => {
  it('escapes NUL, the escape characters and lone surrogates, and keeps pairs', () => {
    expect(encodeKey('a\u0000b')).toBe('a\u00010000b');
    expect(encodeKey('\u0001')).toBe('\u00010001');
    expect(encodeKey('order-\uD800')).toBe('order-\uD7FFd800');
    expect(encodeKey('order-\uDBFF')).toBe('order-\uD7FFdbff');
    expect(encodeKey('\uDE00\uD83D')).toBe('\uD7FFde00\uD7FFd83d');
    expect(encodeKey('\uD7FF')).toBe('\uD7FFd7ff');
    expect(encodeKey('x\u{1F600}y')).toBe('x\u{1F600}y');
    expect(encodeKey('\uD83D\uD83D\uDE00')).toBe('\uD7FFd83d\u{1F600}');
  });

  for (const [i, arbitrary] of strings.entries()) {
    it(`decode(encode(s)) === s (arbitrary ${i})`, () => {
      fc.assert(fc.property(arbitrary, (s) => decodeKey(encodeKey(s)) === s), runs);
    });
  }

  it('encodes to well-formed Unicode without NUL: storable in PostgreSQL text and UTF-8', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const encoded = encodeKey(s);
        return !/\p{Cs}/u.test(encoded) && !encoded.includes('\0') && Buffer.from(encoded, 'utf8').toString('utf8') === encoded;
      }),
      runs,
    );
  });

  it('is the identity on ordinary strings, both ways', () => {
    const ordinary = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })).filter((s) => !/[\0\u0001\uD7FF]/.test(s));
    fc.assert(fc.property(ordinary, (s) => encodeKey(s) === s && decodeKey(s) === s), runs);
  });

  it('is injective', () => {
    fc.assert(fc.property(anyString, anyString, (a, b) => (encodeKey(a) === encodeKey(b)) === (a === b)), runs);
    // Neighbours that a U+FFFD replacement or a sloppy escape would merge.
    const near = ['\uD800', '\uDBFF', '\uFFFD', '\uD7FFd800', '\u00010000', '\0', '\u0001', '\uD7FF', '\uD83D\uDE00', '\u{1F600}'];
    const encoded = new Set(near.map(encodeKey));
    expect(encoded.size).toBe(new Set(near).size);
  });

  it('preserves order: byte order of encodings is compareKeys order of the strings', () => {
    fc.assert(fc.property(anyString, anyString, (a, b) => Math.sign(byteOrder(encodeKey(a), encodeKey(b))) === Math.sign(compareKeys(a, b))), runs);
  });

  it('decodes a stray escape character as itself', () => {
    expect(decodeKey('a\u0001b')).toBe('a\u0001b');
    expect(decodeKey('\u00010002')).toBe('\u00010002');
    expect(decodeKey('\uD7FFe000')).toBe('\uD7FFe000');
    expect(decodeKey('\uD7FFD800')).toBe('\uD7FFD800');
    expect(decodeKey('\uD7FF')).toBe('\uD7FF');
  });
});

describe('compareKeys', () => {
  it('is code point order on well-formed strings', () => {
    const wellFormed = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
    fc.assert(fc.property(wellFormed, wellFormed, (a, b) => Math.sign(compareKeys(a, b)) === Math.sign(byteOrder(a, b))), runs);
  });

  it('places a lone surrogate at its own code point: above U+D7FF, below U+E000 and every pair', () => {
    const sorted = ['\uE000', '\u{1F600}', '\uDC00', '\uD800', '\uD7FF', '\uD83D\uD83D'].sort(compareKeys);
    expect(sorted).toEqual(['\uD7FF', '\uD800', '\uD83D\uD83D', '\uDC00', '\uE000', '\u{1F600}']);
  });
});

describe('encodedPrefixRanges', () => {
  it('matches exactly the keys that start with the prefix', () => {
    const pair = fc.tuple(anyString, anyString, fc.boolean()).map(([p, rest, extend]) => [p, extend ? p + rest : rest] as const);
    fc.assert(
      fc.property(
        pair.filter(([p]) => p !== ''),
        ([prefix, key]) => inRanges(encodeKey(key), prefix) === key.startsWith(prefix),
      ),
      runs,
    );
  });

  it('finds a pair continuing a prefix that ends in a high surrogate', () => {
    expect(inRanges(encodeKey('x\u{1F600}'), 'x\uD83D')).toBe(true);
    expect(inRanges(encodeKey('x\uD83Dz'), 'x\uD83D')).toBe(true);
    expect(inRanges(encodeKey('x\u{1F800}'), 'x\uD83D')).toBe(false);
    expect(inRanges(encodeKey('x\u{10FFFF}'), '\uDBFF')).toBe(false);
    expect(inRanges(encodeKey('\u{10FFFF}x'), '\uDBFF')).toBe(true);
    expect(encodedPrefixRanges('\uDBFF')).toEqual([
      { from: '\uD7FFdbff', to: '\uD7FFdbfg' },
      { from: '\u{10FC00}', to: undefined },
    ]);
  });

  it('gives ascending, disjoint ranges', () => {
    fc.assert(
      fc.property(anyString.filter((p) => p !== ''), (prefix) => {
        const [first, second] = encodedPrefixRanges(prefix);
        return second === undefined || (first?.to !== undefined && byteOrder(first.to, second.from) <= 0);
      }),
      runs,
    );
  });
});

describe('prefixUpperBound', () => {
  it('is above every extension of the prefix and skips the surrogate range', () => {
    expect(prefixUpperBound('a\uD7FF')).toBe('a\uE000');
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('\u{10FFFF}\u{10FFFF}')).toBeUndefined();
    const wellFormed = fc.string({ unit: 'binary', minLength: 1 });
    fc.assert(
      fc.property(wellFormed, wellFormed, (prefix, rest) => {
        const upper = prefixUpperBound(prefix);
        return upper === undefined || (byteOrder(prefix + rest, upper) < 0 && !upper.startsWith(prefix));
      }),
      runs,
    );
  });
});
