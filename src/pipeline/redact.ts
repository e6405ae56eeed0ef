/** What replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/**
 * Returns a copy of `value` with the fields at `paths` replaced by `"[REDACTED]"`.
 *
 * A path is dotted (`customer.email`); `*` matches any key or array index (`lines.*.iban`). The input is
 * never modified. Values that are not plain objects or arrays are copied as they are.
 *
 * @example
 * ```ts
 * import { redact } from 'syncline';
 * redact({ email: 'a@b.c', amount: 3 }, ['email']); // { email: '[REDACTED]', amount: 3 }
 * ```
 */
export function redact(value: unknown, paths: readonly string[]): unknown {
  if (paths.length === 0) return value;
  const split = paths.map((path) => path.split('.'));
  return redactAt(value, split);
}

function redactAt(value: unknown, paths: readonly (readonly string[])[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const isArray = Array.isArray(value);
  const out: Record<string, unknown> | unknown[] = isArray ? [] : {};
  for (const [key, child] of Object.entries(value)) {
    let hidden = false;
    const deeper: string[][] = [];
    for (const path of paths) {
      const head = path[0];
      if (head !== '*' && head !== key) continue;
      if (path.length === 1) hidden = true;
      else deeper.push(path.slice(1));
    }
    const copied = hidden ? REDACTED : deeper.length > 0 ? redactAt(child, deeper) : structuredCloneSafe(child);
    if (isArray) (out as unknown[])[Number(key)] = copied;
    else (out as Record<string, unknown>)[key] = copied;
  }
  return out;
}

function structuredCloneSafe(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  try {
    return structuredClone(value);
  } catch {
    return JSON.parse(JSON.stringify(value)) as unknown;
  }
}
