const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const LONG_DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const DAY = `(?:${DAY_NAMES.join('|')})`;
const LONG_DAY = `(?:${LONG_DAY_NAMES.join('|')})`;
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// RFC 9110 §5.6.7, case-sensitive as the grammar says.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

const DELTA_SECONDS = /^\d+$/;

/**
 * Turns the date fields of an HTTP-date into epoch ms, or `undefined` when a field is out of range
 * (`Date.UTC` would silently roll `Feb 30` over into March).
 */
function toEpochMs(year: number, month: string, day: number, hour: number, minute: number, second: number): number | undefined {
  const monthIndex = MONTHS.indexOf(month as (typeof MONTHS)[number]);
  if (monthIndex < 0) return undefined;
  const daysInMonth = new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  // Second 60 is allowed by RFC 9110 for leap seconds; Date.UTC rolls it into the next minute.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, 0);
  const ms = date.getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * RFC 9110: a two-digit year more than 50 years in the future means the most recent past year with
 * the same last two digits.
 */
function expandTwoDigitYear(twoDigits: number, nowMs: number): number {
  const currentYear = new Date(nowMs).getUTCFullYear();
  const century = currentYear - (currentYear % 100);
  let year = century + twoDigits;
  if (year > currentYear + 50) year -= 100;
  return year;
}

function parseHttpDate(value: string, nowMs: number): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match) {
    const [, day, month, year, hour, minute, second] = match;
    return toEpochMs(Number(year), month!, Number(day), Number(hour), Number(minute), Number(second));
  }
  match = RFC_850.exec(value);
  if (match) {
    const [, day, month, year, hour, minute, second] = match;
    return toEpochMs(expandTwoDigitYear(Number(year), nowMs), month!, Number(day), Number(hour), Number(minute), Number(second));
  }
  match = ASCTIME.exec(value);
  if (match) {
    const [, month, day, hour, minute, second, year] = match;
    return toEpochMs(Number(year), month!, Number(day!.trim()), Number(hour), Number(minute), Number(second));
  }
  return undefined;
}

/**
 * Parses a `Retry-After` header value into milliseconds to wait from `nowMs`.
 *
 * Accepts exactly what RFC 9110 §10.2.3 allows, and nothing else:
 * - delta-seconds: ASCII digits only (`120`). Signs, decimals (`1.5`), exponents (`1e3`) and
 *   surrounding whitespace are rejected: the grammar has none of them, and a server that sends them
 *   is better handled by ordinary backoff than by a guess.
 * - HTTP-date in its three forms: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), obsolete RFC 850
 *   (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`). Parsed by a strict
 *   grammar, not `Date.parse`, which accepts almost anything. The day name must be a valid one but is
 *   not cross-checked against the date.
 *
 * A date in the past gives `0`. Anything else gives `undefined`, never `NaN`. Large values are returned
 * as they are (the retry policy caps them with `maxRetryAfterMs`), clamped only to
 * `Number.MAX_SAFE_INTEGER` so the result is always a finite integer.
 *
 * @param value - The header value, e.g. from `response.headers.get('retry-after')`.
 * @param nowMs - The current time in epoch ms, used for HTTP-dates (pass `clock.now()`).
 * @returns Milliseconds to wait, or `undefined` when the value is missing or malformed.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from 'syncline';
 *
 * parseRetryAfter('120', Date.now()); // 120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27)); // 60_000
 * parseRetryAfter('soon', Date.now()); // undefined
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (DELTA_SECONDS.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isFinite(ms) ? Math.min(ms, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  }
  const at = parseHttpDate(value, nowMs);
  if (at === undefined || !Number.isFinite(nowMs)) return undefined;
  return Math.min(Math.max(0, at - nowMs), Number.MAX_SAFE_INTEGER);
}
