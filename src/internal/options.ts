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
    if (issue.code === 'unrecognized_keys') {
      lines.push(`Expected \`${shownPath}\` ${unknownKeys(issue.keys, knownKeysAt(schema, issue.path))}`);
      continue;
    }
    lines.push(`Expected \`${shownPath}\` ${expectation(issue)}, got ${got}`);
  }
  throw new InvalidOptionsError(`${lines.join('. ')}.${fix ? ` ${fix}` : ''}`, paths);
}

/** The keys an object schema at `path` (through optional, default, pipe and union wrappers) accepts. */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  for (let depth = 0; depth <= path.length; depth++) {
    current = unwrapToObject(current);
    if (!current) return [];
    const shape = (current._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape;
    if (depth === path.length) return Object.keys(shape);
    current = shape[String(path[depth])];
  }
  return [];
}

function unwrapToObject(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  for (let guard = 0; schema && guard < 16; guard++) {
    const def = schema._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; options?: z.core.$ZodType[] };
    if (def.type === 'object') return schema;
    if (def.type === 'pipe') schema = def.in;
    else if (def.type === 'union') schema = def.options?.find((option) => unwrapToObject(option) !== undefined);
    else schema = def.innerType;
  }
  return undefined;
}

/** "to have no unknown option (`concurency`: did you mean `concurrency`?)" */
function unknownKeys(keys: readonly string[], known: readonly string[]): string {
  const named = keys.map((key) => {
    const near = closest(key, known);
    return near ? `\`${key}\`: did you mean \`${near}\`?` : `\`${key}\``;
  });
  const list = known.length > 0 ? `; known options: ${known.map((k) => `\`${k}\``).join(', ')}` : '; check the spelling';
  return `to have no unknown option (${named.join(', ')}${list})`;
}

/** The known key within a small edit distance of `key` (case-insensitive), if one is clearly closest. */
function closest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
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
