import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FatalError } from '../../src/index.js';
import { findLink, parseLinkHeader } from '../../src/http/pagination/link-header.js';
import { linkPagination } from '../../src/http/pagination/link-pagination.js';
import { compareUpdated } from '../../src/http/pagination/incremental.js';
import type { HttpResponse } from '../../src/http/http-client.js';

describe('parseLinkHeader (RFC 8288)', () => {
  it('parses several links with quoted and token params', () => {
    expect(parseLinkHeader('<https://api.example/items?page=2>; rel="next", <https://api.example/items?page=9>; rel=last')).toEqual([
      { uri: 'https://api.example/items?page=2', rel: ['next'], params: { rel: 'next' } },
      { uri: 'https://api.example/items?page=9', rel: ['last'], params: { rel: 'last' } },
    ]);
  });

  it('keeps commas and semicolons inside quoted values and inside <…>, and unescapes quoted pairs', () => {
    const links = parseLinkHeader('</a?x=1,2;3>; title="one, two; \\"three\\""; rel="next", </b>; rel=prev');
    expect(links).toEqual([
      { uri: '/a?x=1,2;3', rel: ['next'], params: { title: 'one, two; "three"', rel: 'next' } },
      { uri: '/b', rel: ['prev'], params: { rel: 'prev' } },
    ]);
  });

  it('splits multi-valued rel, lower-cases names and relation types, keeps the first of a repeated param', () => {
    const [link] = parseLinkHeader('</x>;REL="Next  Last";Rel=ignored; type=application/json ; crossorigin');
    expect(link).toEqual({ uri: '/x', rel: ['next', 'last'], params: { rel: 'Next  Last', type: 'application/json', crossorigin: '' } });
  });

  it('reads several Link headers joined by Headers.get', () => {
    const headers = new Headers();
    headers.append('Link', '</help>; rel="help"');
    headers.append('Link', '</items?page=3>; rel="next"');
    expect(parseLinkHeader(headers.get('link')).map((l) => l.rel[0])).toEqual(['help', 'next']);
  });

  it('skips malformed links and keeps the good ones', () => {
    expect(parseLinkHeader('garbage; rel=next, </ok>; rel="next"').map((l) => l.uri)).toEqual(['/ok']);
    expect(parseLinkHeader('</a> junk, </b>; rel=next').map((l) => l.uri)).toEqual(['/b']);
    expect(parseLinkHeader('</unterminated')).toEqual([]);
    expect(parseLinkHeader('')).toEqual([]);
    expect(parseLinkHeader(null)).toEqual([]);
  });

  it('never throws and terminates on any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('<', '>', ';', ',', '"', '\\', '=', ' ', 'a', 'r', 'e', 'l', '/') }), (header) => {
        const links = parseLinkHeader(header);
        expect(Array.isArray(links)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('findLink', () => {
  const base = 'https://shop.example/api/v2/orders?page=1&limit=20';
  it('resolves relative references against the response URL', () => {
    expect(findLink('<?page=2&limit=20>; rel="next"', 'next', base)).toBe('https://shop.example/api/v2/orders?page=2&limit=20');
    expect(findLink('</api/v2/orders?page=2>; rel="next"', 'next', base)).toBe('https://shop.example/api/v2/orders?page=2');
    expect(findLink('<orders?page=2>; rel="next"', 'next', base)).toBe('https://shop.example/api/v2/orders?page=2');
    expect(findLink('<../v3/orders?page=2>; rel="next"', 'next', base)).toBe('https://shop.example/api/v3/orders?page=2');
  });

  it('matches the relation case-insensitively among several, and ignores links with an anchor', () => {
    expect(findLink('</x>; rel="prev", </y>; rel="NEXT last"', 'next', base)).toBe('https://shop.example/y');
    expect(findLink('</about>; rel=next; anchor="#comments", </y>; rel=next', 'next', base)).toBe('https://shop.example/y');
    expect(findLink('</x>; rel="prev"', 'next', base)).toBeUndefined();
  });
});

describe('linkPagination', () => {
  const response = (url: string, link?: string): HttpResponse<unknown> => ({
    status: 200,
    headers: new Headers(link === undefined ? {} : { link }),
    data: [],
    url,
  });

  it('drops the query parameters the client redacted, so no secret is stored in the cursor', () => {
    const pagination = linkPagination();
    const next = pagination.next({
      response: response('https://api.example/items?page=1&api_key=%5BREDACTED%5D', '<https://api.example/items?page=2&api_key=s3cr3t-canary>; rel="next"'),
      count: 20,
      position: null,
    });
    expect(next).toBe('https://api.example/items?page=2');
  });

  it('ends at a response without a next link, and requests the stored URL without the base query', () => {
    const pagination = linkPagination();
    expect(pagination.next({ response: response('https://api.example/items'), count: 3, position: null })).toBeNull();
    expect(pagination.request({ path: '/items', query: { page: 1 }, headers: { 'x-a': '1' } }, 'https://api.example/items?page=2')).toEqual({
      path: 'https://api.example/items?page=2',
      headers: { 'x-a': '1' },
    });
  });

  it('refuses another origin with a FatalError', () => {
    expect(() =>
      linkPagination().next({ response: response('https://api.example/items', '<https://evil.example/items?page=2>; rel="next"'), count: 1, position: null }),
    ).toThrow(FatalError);
  });
});

describe('compareUpdated', () => {
  it('orders ISO timestamps by instant, numbers and decimal strings numerically, other strings by text', () => {
    expect(compareUpdated('2025-03-01T10:00:00Z', '2025-03-01T11:00:00+02:00')).toBe(1);
    expect(compareUpdated('2025-03-01T10:00:00Z', '2025-03-01T10:00:00.000Z')).toBe(0);
    expect(compareUpdated('2025-03-01T10:00:00.123456Z', '2025-03-01T10:00:00.123457Z')).toBe(-1);
    expect(compareUpdated(9, 10)).toBe(-1);
    expect(compareUpdated('9', '10')).toBe(-1);
    expect(compareUpdated('b', 'a')).toBe(1);
    expect(compareUpdated('rev-1', 'rev-1')).toBe(0);
  });
});
