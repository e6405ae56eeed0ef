import { z } from 'zod';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import type { Clock } from '../time/clock.js';

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' && !Number.isFinite(value)) return `\`${value}\` (number)`;
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}

/** Option names whose values are credentials. */
const SECRET_NAME = /secret|password|passwd|token|api_?key|apikey|credential|authorization|private/i;

function describeSecret(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} character${value.length === 1 ? '' : 's'} (not shown)`;
  return `a value of type ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value} (not shown)`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/**
 * Validates a factory's options with a zod schema and returns the parsed copy (defaults filled, the
 * caller's object untouched). Throws {@link InvalidOptionsError} whose message names each option path,
 * what was expected, what came, and the fix.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, where: string, fix?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines: string[] = [];
  const paths: string[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path.map(String).join('.');
    const shownPath = path === '' ? where : `${where}.${path}`;
    paths.push(path);
    const value = valueAt(input, issue.path);
    // Never quote a credential back: an error message ends up in logs.
    const got = issue.path.some((segment) => SECRET_NAME.test(String(segment))) ? describeSecret(value) : describeValue(value);
    lines.push(`Expected \`${shownPath}\` ${expectation(issue)}, got ${got}`);
  }
  throw new InvalidOptionsError(`${lines.join('. ')}.${fix ? ` ${fix}` : ''}`, paths);
}

function expectation(issue: z.core.$ZodIssue): string {
  // A schema's own wording ("Invalid input: expected an integer from 1 to 1000") beats the generic one.
  const custom = /^(?:Invalid input: )?expected (.*)$/i.exec(issue.message);
  if (custom?.[1] && !/, received /.test(issue.message) && !/^Too (small|big)/.test(issue.message)) return `to be ${custom[1]}`;
  switch (issue.code) {
    case 'too_small':
      return `to be ${issue.origin === 'number' ? 'a number' : issue.origin === 'array' ? 'an array' : issue.origin === 'string' ? 'a string' : 'a value'} ${describeBound(issue.origin, issue.inclusive ?? true, issue.minimum, 'min')}`;
    case 'too_big':
      return `to be ${issue.origin === 'number' ? 'a number' : issue.origin === 'array' ? 'an array' : issue.origin === 'string' ? 'a string' : 'a value'} ${describeBound(issue.origin, issue.inclusive ?? true, issue.maximum, 'max')}`;
    case 'invalid_type':
      return `to be ${article(issue.expected)}`;
    case 'invalid_value':
      return `to be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `to have no unknown option (${issue.keys.map((k) => `\`${k}\``).join(', ')}; check the spelling)`;
    default: {
      // Custom and format messages are written as "expected …" or as a full sentence.
      const match = /expected (.*)$/i.exec(issue.message);
      if (match?.[1]) return `to be ${match[1].replace(/, received .*$/, '')}`;
      return `to be valid (${issue.message})`;
    }
  }
}

function describeBound(origin: string, inclusive: boolean, bound: number | bigint, side: 'min' | 'max'): string {
  if (origin === 'array' || origin === 'string' || origin === 'set') {
    const unit = origin === 'string' ? 'character' : 'item';
    return `with ${side === 'min' ? 'at least' : 'at most'} ${bound} ${unit}${Number(bound) === 1 ? '' : 's'}`;
  }
  if (side === 'min') return inclusive ? `≥ ${bound}` : `> ${bound}`;
  return inclusive ? `≤ ${bound}` : `< ${bound}`;
}

function article(type: string): string {
  if (type === 'int') return 'an integer';
  if (type === 'undefined' || type === 'null') return type;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** A `Clock` option: any object with `now()` and `sleep()`. */
export const clockSchema = z.custom<Clock>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<Clock>).now === 'function' &&
    typeof (value as Partial<Clock>).sleep === 'function',
  { error: 'expected a Clock (an object with `now()` and `sleep(ms, signal)`)' },
);
