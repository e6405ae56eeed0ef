import type { ErrorClass } from '../errors/syncline-error.js';
import type { SecretSet } from './redact.js';
import { budgetExhausted } from './retry-after-headers.js';

/**
 * The response headers as an error may show them: every known secret (the auth provider's, a secret
 * request header's) scrubbed from the values, in case the server echoes one. `HttpError` withholds the
 * credential-bearing headers themselves.
 */
export function shownHeaders(headers: Headers, secrets: SecretSet): Record<string, string> {
  const shown: Record<string, string> = {};
  headers.forEach((value, name) => {
    shown[name] = secrets.text(value);
  });
  return shown;
}

/** The class and advice for a status that is not success. */
export function statusClass(status: number, headers: Headers): { errorClass: ErrorClass; hint: string } {
  if (status === 429 || (status === 403 && budgetExhausted(headers))) {
    return { errorClass: 'retryable', hint: 'The API is rate limiting: retried after the wait it asked for, or after back-off.' };
  }
  if (status === 408 || status === 425) return { errorClass: 'retryable', hint: 'Retried under the retry policy.' };
  if (status === 403) {
    return {
      errorClass: 'fatal',
      hint:
        'The credentials were accepted but lack permission for this request: grant the API key, token or OAuth client ' +
        'the scope or role this operation needs (or request that `scope`), then run again. A 403 is not retried.',
    };
  }
  if (status === 501 || status === 505) {
    return { errorClass: 'permanent', hint: 'The server does not support this request; it is not retried.' };
  }
  if (status >= 500) return { errorClass: 'retryable', hint: 'A server error: retried under the retry policy.' };
  if (status >= 400) {
    return {
      errorClass: 'permanent',
      // The client cannot tell a sink's write from a source's read (a search may POST, a sink may GET),
      // so the hint says what happens in each.
      hint:
        'The request was rejected as sent and is not retried: fix the request or the data it carries. ' +
        'When a sink writes a record, that record fails and is dead-lettered; when a source reads a page, the run stops.',
    };
  }
  return { errorClass: 'permanent', hint: 'An unexpected status; it is not retried.' };
}
