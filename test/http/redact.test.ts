import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/http/index.js';
import { redactUrl, scrubError, SecretSet, snippet } from '../../src/http/redact.js';
import { retryAfterFromHeaders } from '../../src/http/retry-after-headers.js';

describe('SecretSet', () => {
  const secrets = new SecretSet(['s3cr3t+/= &"x', undefined, '']);

  it('scrubs a secret raw, URL-encoded, form-encoded and JSON-escaped', () => {
    const raw = 's3cr3t+/= &"x';
    const forms = [raw, encodeURIComponent(raw), new URLSearchParams({ a: raw }).toString().slice(2), JSON.stringify(raw).slice(1, -1)];
    for (const form of forms) expect(secrets.text(`before ${form} after`)).toBe('before [REDACTED] after');
  });

  it('replaces the longest secret first, so one that contains another is scrubbed whole', () => {
    expect(new SecretSet(['abc', 'abcdef']).text('xabcdefx')).toBe('x[REDACTED]x');
  });
});

describe('redactUrl', () => {
  it('drops user info, masks secret query parameters by name, and scrubs known secrets anywhere', () => {
    const url = 'https://u:p@api.example.com/bot-tok123/orders?page=2&access_token=a&X-Amz-Signature=b&sig=c&custom=d&q=tok123';
    expect(redactUrl(url, new SecretSet(['tok123']), new Set(['custom']))).toBe(
      'https://api.example.com/bot-[REDACTED]/orders?page=2&access_token=[REDACTED]&X-Amz-Signature=[REDACTED]&sig=[REDACTED]&custom=[REDACTED]&q=[REDACTED]',
    );
  });
});

describe('snippet', () => {
  it('scrubs before cutting, so a secret across the cut never shows a prefix, and keeps at most 200 characters', () => {
    const secret = 'Z'.repeat(30);
    const body = `${'a'.repeat(190)}${secret}${'b'.repeat(500)}`;
    const shown = snippet(body, new SecretSet([secret]));
    expect(shown.length).toBe(200);
    expect(shown).not.toContain('Z');
    expect(shown).toContain('[REDACTED');
    expect(snippet('  \n ', new SecretSet([]))).toBe('(empty body)');
  });
});

describe('scrubError', () => {
  it('scrubs an error and its cause chain in place, keeping its class and classification', () => {
    const inner = new Error('socket closed after sending tok-999');
    const error = new HttpError({ method: 'GET', url: 'http://x/', operation: 'x', status: 503, errorClass: 'retryable', hint: 'saw tok-999', cause: inner });
    const scrubbed = scrubError(error, new SecretSet(['tok-999'])) as HttpError;
    expect(scrubbed).toBe(error);
    expect(scrubbed).toBeInstanceOf(HttpError);
    expect(scrubbed.errorClass).toBe('retryable');
    expect(scrubbed.message).not.toContain('tok-999');
    expect(scrubbed.stack).not.toContain('tok-999');
    expect((scrubbed.cause as Error).message).toBe('socket closed after sending [REDACTED]');
  });

  it('returns a clean error untouched and copies a frozen one', () => {
    const clean = new Error('fine');
    expect(scrubError(clean, new SecretSet(['tok']))).toBe(clean);
    const frozen = Object.freeze(Object.assign(new Error('has tok-1'), { code: 'ECONNRESET' }));
    const copy = scrubError(frozen, new SecretSet(['tok-1'])) as Error & { code?: string };
    expect(copy).not.toBe(frozen);
    expect(copy.message).toBe('has [REDACTED]');
    expect(copy.code).toBe('ECONNRESET');
  });
});

describe('retryAfterFromHeaders', () => {
  const now = Date.UTC(2026, 0, 1);
  it.each([
    [{ 'retry-after': '120' }, 120_000],
    [{ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, 30_000],
    [{ 'retry-after': '1.5' }, undefined],
    [{ 'retry-after': '1.5', 'ratelimit-reset': '2' }, 2_000],
    [{ 'x-rate-limit-reset': String(now + 5_000) }, 5_000],
    [{ 'x-ratelimit-reset': String(now / 1000 - 100) }, 0],
    [{ 'x-ratelimit-reset': '-3' }, undefined],
    [{}, undefined],
  ])('%j → %s', (headers, expected) => {
    expect(retryAfterFromHeaders(new Headers(headers), now)).toBe(expected);
  });
});
