/**
 * The forms a `Retry-After` header takes in the wild, valid and not:
 *
 * | form | example | a client should |
 * | --- | --- | --- |
 * | `seconds` | `2` | wait 2 s |
 * | `imf-fixdate` | `Sun, 06 Nov 1994 08:49:39 GMT` | wait until then |
 * | `rfc850` | `Sunday, 06-Nov-94 08:49:39 GMT` | wait until then (obsolete form, still valid) |
 * | `asctime` | `Sun Nov  6 08:49:39 1994` | wait until then (obsolete form, still valid) |
 * | `zero` | `0` | retry at once |
 * | `negative` | `-5` | ignore it (invalid) and back off |
 * | `garbage` | `soon, probably` | ignore it (invalid) and back off |
 * | `huge` | `999999999` (about 31 years) | cap it |
 * | `none` | no header | back off |
 */
export type RetryAfterForm = 'seconds' | 'imf-fixdate' | 'rfc850' | 'asctime' | 'zero' | 'negative' | 'garbage' | 'huge' | 'none';

/** Every {@link RetryAfterForm}, in a fixed order. */
export const RETRY_AFTER_FORMS: readonly RetryAfterForm[] = Object.freeze([
  'seconds',
  'imf-fixdate',
  'rfc850',
  'asctime',
  'zero',
  'negative',
  'garbage',
  'huge',
  'none',
] as const);

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const two = (n: number): string => String(n).padStart(2, '0');

/**
 * A `Retry-After` header value in the given form, asking to wait `seconds` from `nowMs`; `undefined` for
 * `none`. The date forms have one-second precision, so they name the first whole second at least
 * `seconds` after `nowMs` (the wait they mean is between `seconds` and `seconds + 1` s).
 *
 * @example
 * ```ts
 * import { formatRetryAfter } from 'syncline/testing';
 *
 * formatRetryAfter('seconds', 2, Date.now()); // '2'
 * formatRetryAfter('rfc850', 2, Date.UTC(1994, 10, 6, 8, 49, 37)); // 'Sunday, 06-Nov-94 08:49:39 GMT'
 * ```
 */
export function formatRetryAfter(form: RetryAfterForm, seconds: number, nowMs: number): string | undefined {
  const wholeSeconds = Math.max(0, Math.ceil(seconds));
  const date = new Date(Math.ceil(nowMs / 1000) * 1000 + wholeSeconds * 1000);
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  switch (form) {
    case 'seconds':
      return String(wholeSeconds);
    case 'imf-fixdate':
      return date.toUTCString();
    case 'rfc850':
      return `${LONG_DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())}-${MONTHS[date.getUTCMonth()]}-${two(date.getUTCFullYear() % 100)} ${time} GMT`;
    case 'asctime':
      return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${time} ${date.getUTCFullYear()}`;
    case 'zero':
      return '0';
    case 'negative':
      return `-${Math.max(1, wholeSeconds)}`;
    case 'garbage':
      return 'soon, probably';
    case 'huge':
      return '999999999';
    case 'none':
      return undefined;
  }
}
