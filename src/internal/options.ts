import { z } from 'zod';
import { InvalidOptionsError } from '../errors/invalid-options-error.js';
import type { Clock } from '../time/clock.js';

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' && !Number.isFinite(value)) return `\`${value}\` (number)`;
  // An options object is described by its keys: its values may hold a credential under a name that is
  // misspelt or unknown, which no secret check recognises.
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return '`{}` (object)';
    const shown = keys.slice(0, 8).map((key) => `\`${key}\``).join(', ');
    return `an object with ${keys.length === 1 ? 'key' : 'keys'} ${shown}${keys.length > 8 ? ', …' : ''}`;
  }
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
  // Nothing to hide, and "undefined" says what went wrong: an unset environment variable, usually.
  if (value === undefined || value === null) return String(value);
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
  for (const issue of result.error.issues.flatMap(closestBranch)) {
    const path = issue.path.map(String).join('.');
    const shownPath = path === '' ? where : `${where}.${path}`;
    paths.push(path);
    const value = valueAt(input, issue.path);
    // Never quote a credential back: an error message ends up in logs.
    const got = issue.path.some((segment) => SECRET_NAME.test(String(segment))) ? describeSecret(value) : describeValue(value);
    if (issue.code === 'unrecognized_keys') {
      lines.push(`Expected \`${shownPath}\` ${unknownKeys(issue.keys, knownKeysAt(schema, input, issue.path))}`);
      continue;
    }
    lines.push(`Expected \`${shownPath}\` ${expectation(issue)}, got ${got}`);
  }
  throw new InvalidOptionsError(`${lines.join('. ')}.${fix ? ` ${fix}` : ''}`, paths);
}

/**
 * The issues of the union branch the input came closest to, in place of zod's single "invalid union"
 * issue: `{ kye: 'x' }` against `{ key, header? } | { key, query }` should say that `key` is missing and
 * `kye` unknown. A branch whose issues are all deeper than the union matched the input's shape, so it
 * beats one that rejected the value outright; then the branch with fewest issues wins. When every
 * branch rejected the value outright the union's own message ("expected a URL or …") says it best.
 */
function closestBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const outright = (branch: readonly z.core.$ZodIssue[]): boolean =>
    branch.some((inner) => inner.path.length === 0 && inner.code !== 'unrecognized_keys');
  const candidates = issue.errors.filter((branch) => branch.length > 0 && !outright(branch));
  if (candidates.length === 0) return [issue];
  const best = candidates.reduce((a, b) => (b.length < a.length ? b : a));
  return best.flatMap((inner) => closestBranch({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
}

/**
 * The keys the object schema at `path` accepts, looking through optional, default, pipe and union
 * wrappers. Of a union, the object branches whose literal fields (a discriminator such as `mode`) agree
 * with the input count, and their keys are merged.
 */
function knownKeysAt(schema: z.ZodType, input: unknown, path: readonly PropertyKey[]): string[] {
  let current: readonly z.core.$ZodType[] = [schema];
  for (let depth = 0; depth <= path.length; depth++) {
    const value = valueAt(input, path.slice(0, depth));
    const objects = current.flatMap((candidate) => objectBranches(candidate, value));
    if (objects.length === 0) return [];
    const shapes = objects.map((object) => (object._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape);
    if (depth === path.length) return [...new Set(shapes.flatMap((shape) => Object.keys(shape)))];
    const segment = String(path[depth]);
    current = shapes.flatMap((shape) => (shape[segment] ? [shape[segment]] : []));
  }
  return [];
}

/** The object schemas `schema` stands for (through wrappers and unions) that `value` could be meant for. */
function objectBranches(schema: z.core.$ZodType | undefined, value: unknown, guard = 0): z.core.$ZodType[] {
  if (!schema || guard > 16) return [];
  const def = schema._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType; options?: z.core.$ZodType[] };
  if (def.type === 'object') return [schema];
  if (def.type === 'pipe') return objectBranches(def.in, value, guard + 1);
  if (def.type === 'union') {
    const all = (def.options ?? []).flatMap((option) => objectBranches(option, value, guard + 1));
    const agreeing = all.filter((object) => literalsAgree(object, value));
    return agreeing.length > 0 ? agreeing : all;
  }
  return objectBranches(def.innerType, value, guard + 1);
}

/** Whether every literal field of `object` the input sets holds one of the literal's values. */
function literalsAgree(object: z.core.$ZodType, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const shape = (object._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape;
  return Object.entries(shape).every(([key, field]) => {
    const def = field._zod.def as unknown as { type: string; values?: readonly unknown[] };
    if (def.type !== 'literal' || !Object.hasOwn(value, key)) return true;
    return def.values?.includes((value as Record<string, unknown>)[key]) ?? true;
  });
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

/**
 * The known key `key` was probably meant as: one within a small edit distance (case-insensitive, a swap
 * of two neighbours counting as one edit), or else the one known key that starts or ends with it
 * (`tolerance` for `toleranceSeconds`, `prefix` for `keyPrefix`).
 */
function closest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(key.length / 3));
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  if (bestDistance <= limit) return best;
  if (lower.length < 3) return undefined;
  const containing = known.filter((candidate) => {
    const c = candidate.toLowerCase();
    return c.startsWith(lower) || c.endsWith(lower) || lower.startsWith(c) || lower.endsWith(c);
  });
  return containing.length === 1 ? containing[0] : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const above = rows[i - 1]!;
      let cost = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cost = Math.min(cost, rows[i - 2]![j - 2]! + 1);
      row[j] = cost;
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
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

/**
 * A callback option. Checked with `typeof`, not `z.function()`: zod 4's function schema returns a
 * wrapper, and a callback must stay the caller's own function (identity, `this`, no per-call parsing).
 *
 * @param expected What the message says is expected, e.g. `a function (record) => string`.
 */
export function functionSchema<F extends (...args: never[]) => unknown>(expected = 'a function'): z.ZodType<F> {
  return z.custom<F>((value) => typeof value === 'function', { error: `Invalid input: expected ${expected}` });
}

/**
 * An option that must be an object with these methods (a store, client or provider the caller built),
 * passed through as is. A duck-typed check rather than `z.instanceof`, so a compatible object from
 * another copy of a library (or a test double) is accepted.
 */
export function objectWithMethods<T>(methods: readonly string[], expected: string): z.ZodType<T> {
  return z.custom<T>(
    (value) => typeof value === 'object' && value !== null && methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function'),
    { error: `Invalid input: expected ${expected}` },
  );
}
