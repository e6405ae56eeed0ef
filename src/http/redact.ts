/**
 * Secret scrubbing for the HTTP layer: URLs, body snippets and error messages never carry a key, token
 * or password, even when a server echoes the request back.
 *
 * @internal Not exported from `syncline/http`.
 */

/** What replaces a secret. Same text as the audit's `REDACTED`. */
export const REDACTED = '[REDACTED]';

/** Longest body snippet an error message carries. */
export const SNIPPET_CHARS = 200;

/**
 * Query parameters whose value is a secret whatever the API: `api_key`, `access_token`,
 * `client_secret`, `X-Amz-Signature`, … Matched on the lower-cased name.
 */
const SECRET_PARAM = /(secret|token|passw|pwd|signature|credential|session|api[-_]?key|apikey|private)/;
const SECRET_PARAM_EXACT: ReadonlySet<string> = new Set(['key', 'sig', 'code', 'auth', 'authorization', 'jwt', 'assertion']);

/** Header names whose value is a secret: they are never shown, and their values are redacted wherever they appear. */
const SECRET_HEADER = /(authorization|cookie|token|secret|passw|api[-_]?key|apikey|session|signature|credential|^x-auth)/;

/** Whether a query parameter's value is treated as a secret. */
export function isSecretParam(name: string, extra: ReadonlySet<string> = new Set()): boolean {
  const lower = name.toLowerCase();
  return extra.has(lower) || SECRET_PARAM_EXACT.has(lower) || SECRET_PARAM.test(lower);
}

/** Whether a header's value is treated as a secret. */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name.toLowerCase());
}

/**
 * Response headers whose values are withheld from `HttpError.headers` on top of {@link isSecretHeader}:
 * authentication challenges (a Digest nonce, a realm naming internals) and any `…-key` header but the
 * idempotency key, which is the caller's own value and what a sink needs to see.
 */
const WITHHELD_RESPONSE_HEADER = /^(?:proxy-authenticate|www-authenticate)$|(?:^|[-_])key$/;

/** Whether a response header's value is replaced by `[REDACTED]` in `HttpError.headers`. */
export function isWithheldResponseHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower === 'idempotency-key') return false;
  return isSecretHeader(lower) || WITHHELD_RESPONSE_HEADER.test(lower);
}

/** The forms a secret takes on the wire and in echoes: raw, URL-encoded, form-encoded, JSON-escaped. */
function variants(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(new URLSearchParams({ s: secret }).toString().slice(2));
  forms.add(JSON.stringify(secret).slice(1, -1));
  return [...forms].filter((form) => form.length > 0);
}

/**
 * A set of secret values to scrub from text. Built per request from the auth provider's secrets and
 * the values of secret headers, so a server that echoes the request cannot leak them into an error.
 */
export class SecretSet {
  readonly #forms: string[];

  constructor(secrets: Iterable<string | undefined>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (typeof secret !== 'string' || secret === '') continue;
      for (const form of variants(secret)) forms.add(form);
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.#forms = [...forms].sort((a, b) => b.length - a.length);
  }

  /** A new set with more secrets. */
  with(more: Iterable<string | undefined>): SecretSet {
    return new SecretSet([...this.#forms, ...more]);
  }

  /** Every occurrence of a secret in `text` replaced by `[REDACTED]`. */
  text(text: string): string {
    let out = text;
    for (const form of this.#forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out;
  }

  /** Whether `text` holds a secret. */
  leaks(text: string): boolean {
    return this.#forms.some((form) => text.includes(form));
  }
}

/**
 * The URL as errors and responses show it: user info dropped, secret query values replaced by
 * `[REDACTED]`, and any known secret anywhere else (a token in the path) scrubbed too.
 */
export function redactUrl(url: URL | string, secrets: SecretSet, secretParams: ReadonlySet<string> = new Set()): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return secrets.text(String(url));
  }
  parsed.username = '';
  parsed.password = '';
  const params = [...parsed.searchParams.keys()];
  if (params.some((name) => isSecretParam(name, secretParams))) {
    const kept = new URLSearchParams();
    for (const [name, value] of parsed.searchParams) kept.append(name, isSecretParam(name, secretParams) ? REDACTED : value);
    // URLSearchParams would percent-encode the brackets; keep the marker readable.
    parsed.search = kept.toString().split(encodeURIComponent(REDACTED)).join(REDACTED);
  }
  return secrets.text(parsed.toString());
}

/** The values of the secret headers in `headers`, and the credential after an auth scheme (`Bearer x` → `x`). */
export function headerSecrets(headers: Headers): string[] {
  const found: string[] = [];
  headers.forEach((value, name) => {
    if (!isSecretHeader(name)) return;
    found.push(value);
    const space = value.indexOf(' ');
    if (space > 0) found.push(value.slice(space + 1).trim());
  });
  return found;
}

/**
 * A short, single-line, secret-free excerpt of a response body for an error message, at most
 * {@link SNIPPET_CHARS} characters: secrets are replaced first (over the whole text read), then the
 * result is cut.
 */
export function snippet(body: string, secrets: SecretSet): string {
  const clean = secrets.text(body).replace(/\s+/g, ' ').trim();
  if (clean === '') return '(empty body)';
  return clean.length > SNIPPET_CHARS ? `${clean.slice(0, SNIPPET_CHARS - 1)}…` : clean;
}

const MAX_CAUSE_DEPTH = 8;

function chainLeaks(error: unknown, secrets: SecretSet, depth: number): boolean {
  if (!(error instanceof Error) || depth > MAX_CAUSE_DEPTH) return false;
  for (const value of [error.message, error.stack, ...Object.values(error)]) {
    if (typeof value === 'string' && secrets.leaks(value)) return true;
  }
  return chainLeaks(error.cause, secrets, depth + 1);
}

/** Replaces secrets in the error's own string properties (message, stack, fields) and down its cause chain. */
function scrubInPlace(error: Error, secrets: SecretSet, depth: number): boolean {
  try {
    for (const name of Object.getOwnPropertyNames(error)) {
      const value = (error as unknown as Record<string, unknown>)[name];
      if (typeof value === 'string' && secrets.leaks(value)) {
        const enumerable = Object.getOwnPropertyDescriptor(error, name)?.enumerable ?? false;
        Object.defineProperty(error, name, { value: secrets.text(value), writable: true, configurable: true, enumerable });
      }
    }
  } catch {
    return false;
  }
  const cause = error.cause;
  if (cause instanceof Error && depth < MAX_CAUSE_DEPTH && chainLeaks(cause, secrets, depth + 1)) return scrubInPlace(cause, secrets, depth + 1);
  return !chainLeaks(error, secrets, depth);
}

/**
 * `error` with every secret scrubbed from its message, stack, string fields and `cause` chain, so
 * nothing reachable from it carries a credential. Scrubbed in place, which keeps its class and
 * classification; an error that cannot be changed (frozen) is replaced by a plain copy that keeps its
 * name and code.
 */
export function scrubError(error: unknown, secrets: SecretSet): unknown {
  if (!(error instanceof Error) || !chainLeaks(error, secrets, 0)) return error;
  if (scrubInPlace(error, secrets, 0)) return error;
  const copy = new Error(secrets.text(error.message));
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = secrets.text(error.stack);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.defineProperty(copy, 'code', { value: code, enumerable: true });
  return copy;
}
