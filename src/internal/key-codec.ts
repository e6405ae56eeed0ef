/**
 * How stores write string identities (record keys, ids, kv namespaces and keys, inbox names) into
 * backends that cannot hold every JavaScript string: PostgreSQL `text` rejects U+0000, and SQLite,
 * PostgreSQL and Redis all turn a lone UTF-16 surrogate into U+FFFD on the way in, so `'order-\ud800'`
 * and `'order-\udbff'` would become one key.
 *
 * The encoding is the identity on ordinary strings, so rows written before it read back unchanged. Only
 * five kinds of UTF-16 unit are escaped, each as an escape character followed by four lower-case hex
 * digits of the unit:
 *
 * | unit                          | written as                     |
 * | ----------------------------- | ------------------------------ |
 * | U+0000, U+0001                | U+0001 + `0000` / `0001`       |
 * | U+D7FF, a lone U+D800–U+DFFF  | U+D7FF + `d7ff` … `dfff`       |
 *
 * (A surrogate pair is one ordinary character and stays as it is.) Two escape characters rather than
 * one make the encoding order-preserving: the escapes of U+0000 sort where U+0000 would, just above the
 * string they follow, and those of lone surrogates sort between U+D7FE and U+E000, where the surrogate
 * code points lie. So for every pair of strings, code point order of their encodings (UTF-8 byte order:
 * SQLite `BINARY`, PostgreSQL `COLLATE "C"`, Redis lex ranges) equals {@link compareKeys} order of the
 * strings, and `list` with `after` works on escaped keys as on any other. U+0001 (START OF HEADING) is
 * a control character and U+D7FF an unassigned code point: neither turns up in real keys.
 *
 * @internal
 */

const LOW_ESCAPE = 0x0001;
const HIGH_ESCAPE = 0xd7ff;

/** Anything {@link encodeKey} changes: U+0000, U+0001, U+D7FF, a lone surrogate (`\p{Cs}` with `u` skips pairs). */
const NEEDS_ESCAPE = /[\0\u0001\uD7FF]|\p{Cs}/u;
const HAS_ESCAPE = /[\u0001\uD7FF]/;
const HEX4 = /^[0-9a-f]{4}$/;

function escape(unit: number): string {
  return String.fromCharCode(unit <= LOW_ESCAPE ? LOW_ESCAPE : HIGH_ESCAPE) + unit.toString(16).padStart(4, '0');
}

/**
 * Encodes a string identity for a store: the result is well-formed Unicode without U+0000, equal to the
 * input when the input holds none of U+0000, U+0001, U+D7FF or a lone surrogate.
 *
 * @example
 * ```ts
 * encodeKey('order-1042'); // 'order-1042'
 * encodeKey('a\u0000b'); // 'a\u00010000b'
 * encodeKey('order-\ud800'); // 'order-\ud7ffd800'
 * ```
 * @internal
 */
export function encodeKey(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  let out = '';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (unit <= LOW_ESCAPE || (unit >= HIGH_ESCAPE && unit <= 0xdfff)) {
      out += value.slice(start, i) + escape(unit);
      start = i + 1;
    }
  }
  return out + value.slice(start);
}

/**
 * Reverses {@link encodeKey}: `decodeKey(encodeKey(s)) === s` for every string. An escape character
 * that does not start an escape {@link encodeKey} writes (hand-edited rows) stands for itself.
 *
 * @internal
 */
export function decodeKey(stored: string): string {
  if (!HAS_ESCAPE.test(stored)) return stored;
  let out = '';
  let start = 0;
  for (let i = 0; i < stored.length; i++) {
    const mark = stored.charCodeAt(i);
    if (mark !== LOW_ESCAPE && mark !== HIGH_ESCAPE) continue;
    const digits = stored.slice(i + 1, i + 5);
    if (!HEX4.test(digits)) continue;
    const unit = Number.parseInt(digits, 16);
    const valid = mark === LOW_ESCAPE ? unit <= LOW_ESCAPE : unit >= HIGH_ESCAPE && unit <= 0xdfff;
    if (!valid) continue;
    out += stored.slice(start, i) + String.fromCharCode(unit);
    i += 4;
    start = i + 1;
  }
  return out + stored.slice(start);
}

/**
 * Orders strings by code point, a lone surrogate counting as its own code point (U+D800–U+DFFF): for
 * well-formed strings this is Unicode code point order, i.e. UTF-8 byte order, and for all strings it is
 * the order in which the durable stores list their {@link encodeKey encoded} forms.
 *
 * @internal
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; ) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(i) ?? 0;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
  }
  // Equal code points have equal widths, so both strings were walked to the same index.
  return a.length - b.length;
}

/**
 * The least string above every string that starts with `prefix`, in code point order: the prefix with
 * its last code point incremented (dropping trailing U+10FFFF), skipping the surrogate range; undefined
 * when there is none (the prefix is all U+10FFFF). `prefix` must be well-formed (an encoded key).
 *
 * @internal
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (char) => char.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const last = points.pop() ?? 0;
    if (last < 0x10ffff) {
      points.push(last + 1 === 0xd800 ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

/** A range of encoded keys: `from` inclusive, `to` exclusive (`undefined`: no upper end). @internal */
export interface EncodedKeyRange {
  readonly from: string;
  readonly to: string | undefined;
}

/**
 * The ranges of encoded keys whose decoded keys start with `prefix` (a non-empty string), ascending and
 * disjoint. Usually one: the keys starting with `encodeKey(prefix)`. A prefix ending in a high surrogate
 * adds a second, because that surrogate is lone (escaped) in the prefix but may be half of a pair (kept
 * as it is) in a key: `'x\ud83d'` is a prefix of `'x\u{1F600}'`.
 *
 * @internal
 */
export function encodedPrefixRanges(prefix: string): readonly EncodedKeyRange[] {
  const encoded = encodeKey(prefix);
  const ranges: EncodedKeyRange[] = [{ from: encoded, to: prefixUpperBound(encoded) }];
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) {
    // The keys continuing with a low surrogate: the 1024 code points whose high surrogate is `last`.
    const head = encodeKey(prefix.slice(0, -1));
    const first = (last - 0xd800) * 0x400 + 0x10000;
    const end = first + 0x400;
    ranges.push({ from: head + String.fromCodePoint(first), to: end <= 0x10ffff ? head + String.fromCodePoint(end) : prefixUpperBound(head) });
  }
  return ranges;
}
