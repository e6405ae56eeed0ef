/** One link of an RFC 8288 `Link` header. */
export interface WebLink {
  /** The target URI reference exactly as written between `<` and `>` (may be relative). */
  readonly uri: string;
  /** Relation types of `rel`, lower-cased (`rel="next last"` gives `['next', 'last']`). */
  readonly rel: readonly string[];
  /** Every parameter, names lower-cased, quoted values unescaped; the first occurrence of a name wins. */
  readonly params: Readonly<Record<string, string>>;
}

const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

/**
 * Parses an RFC 8288 `Link` header value into its links.
 *
 * Handles several links in one value and several `Link` headers joined with `, ` (as `Headers.get`
 * returns them), commas and semicolons inside `<…>` and inside quoted parameter values, backslash
 * escapes, unquoted (token) values, parameters without a value, and case-insensitive names. A malformed
 * link is skipped up to the next top-level comma rather than failing the whole header.
 *
 * @example
 * ```ts
 * import { parseLinkHeader } from 'syncline/http';
 *
 * parseLinkHeader('</orders?page=3>; rel="next", </orders?page=9>; rel=last');
 * // [{ uri: '/orders?page=3', rel: ['next'], params: { rel: 'next' } }, { uri: '/orders?page=9', rel: ['last'], … }]
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8288#section-3
 */
export function parseLinkHeader(value: string | null | undefined): WebLink[] {
  if (!value) return [];
  const links: WebLink[] = [];
  const n = value.length;
  let i = 0;

  const skipWhitespace = (): void => {
    while (i < n && WHITESPACE.has(value[i]!)) i++;
  };
  // Moves past the rest of a malformed link: to just after the next comma outside quotes and `<…>`.
  const skipToNextLink = (): void => {
    let quoted = false;
    let angled = false;
    for (; i < n; i++) {
      const c = value[i]!;
      if (quoted) {
        if (c === '\\') i++;
        else if (c === '"') quoted = false;
      } else if (angled) {
        if (c === '>') angled = false;
      } else if (c === '"') quoted = true;
      else if (c === '<') angled = true;
      else if (c === ',') {
        i++;
        return;
      }
    }
  };

  while (i < n) {
    skipWhitespace();
    if (i >= n) break;
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (value[i] !== '<') {
      skipToNextLink();
      continue;
    }
    const close = value.indexOf('>', i + 1);
    if (close === -1) break;
    const uri = value.slice(i + 1, close).trim();
    i = close + 1;
    const params: Record<string, string> = {};
    let malformed = false;
    for (;;) {
      skipWhitespace();
      if (i >= n || value[i] === ',') break;
      if (value[i] !== ';') {
        malformed = true;
        break;
      }
      i++;
      skipWhitespace();
      const nameStart = i;
      while (i < n && !WHITESPACE.has(value[i]!) && value[i] !== '=' && value[i] !== ';' && value[i] !== ',') i++;
      const name = value.slice(nameStart, i).toLowerCase();
      skipWhitespace();
      let paramValue = '';
      if (value[i] === '=') {
        i++;
        skipWhitespace();
        if (value[i] === '"') {
          i++;
          let text = '';
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\' && i + 1 < n) i++;
            text += value[i];
            i++;
          }
          i++; // the closing quote (or past the end of an unterminated one)
          paramValue = text;
        } else {
          const start = i;
          while (i < n && value[i] !== ';' && value[i] !== ',') i++;
          paramValue = value.slice(start, i).trim();
        }
      }
      if (name !== '' && !Object.hasOwn(params, name)) params[name] = paramValue;
    }
    if (malformed) {
      skipToNextLink();
      continue;
    }
    const rel = (params['rel'] ?? '')
      .split(/[ \t]+/)
      .filter((r) => r !== '')
      .map((r) => r.toLowerCase());
    links.push({ uri, rel, params });
  }
  return links;
}

/**
 * The absolute URL of the first link with relation `rel` in a `Link` header value, resolved against
 * `base` (the URL of the response that carried it), or `undefined` when there is none.
 *
 * Links with an `anchor` parameter are about another resource than the response, so they are ignored.
 *
 * @example
 * ```ts
 * import { findLink } from 'syncline/http';
 *
 * findLink('<?page=2>; rel="next"', 'next', 'https://shop.example/api/orders?page=1');
 * // 'https://shop.example/api/orders?page=2'
 * ```
 */
export function findLink(header: string | null | undefined, rel: string, base: string): string | undefined {
  const wanted = rel.toLowerCase();
  for (const link of parseLinkHeader(header)) {
    if (Object.hasOwn(link.params, 'anchor')) continue;
    if (!link.rel.includes(wanted)) continue;
    try {
      return new URL(link.uri, base).href;
    } catch {
      continue;
    }
  }
  return undefined;
}
