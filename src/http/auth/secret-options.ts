/**
 * Option parsing that never shows a credential: `parseOptions` quotes the value it got, which for a
 * key, token or password would put the secret into an error message (and from there into logs).
 *
 * @internal Not exported from `syncline/http`.
 */
import type { z } from 'zod';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import { parseOptions } from '../../internal/options.js';

/** Stands in for a secret while the other options are parsed; valid for every secret schema here. */
const PLACEHOLDER = 'placeholder';

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} character${value.length === 1 ? '' : 's'} (not shown: it is a secret)`;
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * `parseOptions(schema, input, where)`, except that the fields named in `secrets` are checked first
 * with their own schema, and an invalid one is reported without its value.
 */
export function parseSecretOptions<S extends z.ZodType>(schema: S, input: unknown, where: string, secrets: Readonly<Record<string, z.ZodType>>, fix?: string): z.output<S> {
  if (typeof input !== 'object' || input === null) return parseOptions(schema, input, where, fix);
  const masked: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  const real: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(secrets)) {
    const value = masked[key];
    if (value === undefined) continue;
    const result = check.safeParse(value);
    if (!result.success) {
      const message = result.error.issues[0]?.message ?? 'valid';
      const expected = /expected (.*)$/i.exec(message)?.[1]?.replace(/, received .*$/, '') ?? 'valid';
      throw new InvalidOptionsError(`Expected \`${where}.${key}\` to be ${expected}, got ${describe(value)}.${fix ? ` ${fix}` : ''}`, [key]);
    }
    real[key] = result.data;
    masked[key] = PLACEHOLDER;
  }
  const parsed = parseOptions(schema, masked, where, fix) as Record<string, unknown>;
  return { ...parsed, ...real } as z.output<S>;
}
