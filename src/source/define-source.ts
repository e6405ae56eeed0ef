import { z } from 'zod';
import { functionSchema, objectWithMethods, parseOptions } from '../internal/options.js';
import type { Source, SourceBatch, SourceReadContext } from './source.js';

/** The definition of a connector's source, for {@link defineSource}. */
export interface SourceDefinition<Config extends z.ZodType, T, C> {
  /** The connector's name, e.g. `shopify-orders`; also the default source name. */
  readonly name: string;
  /** Schema of the connector's configuration; checked when the source is created. */
  readonly config: Config;
  /** Schema of the cursor; stored cursors are checked with it on load. */
  readonly cursor: z.ZodType<C>;
  /** Yields batches after `ctx.cursor`, with the parsed configuration. See {@link Source} for the lifecycle. */
  readonly read: (config: z.output<Config>, ctx: SourceReadContext<C>) => AsyncIterable<SourceBatch<T, C>>;
  /** Releases what `read` opened. */
  readonly close?: (config: z.output<Config>) => Promise<void>;
}

const zodSchema = objectWithMethods<z.ZodType>(['safeParse'], 'a zod schema');

const definitionSchema = z.strictObject({
  name: z.string().min(1),
  config: zodSchema,
  cursor: zodSchema,
  read: functionSchema('a function (config, ctx) => AsyncIterable of batches'),
  close: functionSchema('a function (config) => Promise<void>').optional(),
});

const connectorOptionsSchema = z.strictObject({ name: z.string().min(1).optional() });

/**
 * Defines a typed source connector: returns a factory that validates its configuration (a zod schema)
 * and builds the {@link Source}. Bad configuration throws `InvalidOptionsError` naming the path.
 *
 * @example
 * ```ts
 * import { defineSource } from 'syncline';
 * import { z } from 'zod';
 *
 * export const numbers = defineSource({
 *   name: 'numbers',
 *   config: z.object({ upTo: z.number().int().positive() }),
 *   cursor: z.object({ next: z.number().int() }),
 *   async *read(config, ctx) {
 *     for (let n = ctx.cursor?.next ?? 1; n <= config.upTo; n += 10) {
 *       const records = [];
 *       for (let i = n; i < Math.min(n + 10, config.upTo + 1); i++) records.push({ key: String(i), data: { n: i } });
 *       yield { records, cursor: { next: n + 10 } };
 *     }
 *   },
 * });
 * const source = numbers({ upTo: 95 });
 * ```
 */
export function defineSource<Config extends z.ZodType, T, C>(
  definition: SourceDefinition<Config, T, C>,
): (config: z.input<Config>, options?: { readonly name?: string }) => Source<T, C> {
  parseOptions(definitionSchema, definition, 'defineSource', 'Pass `{ name, config, cursor, read, close? }`.');
  return (input, options = {}) => {
    parseOptions(connectorOptionsSchema, options, `${definition.name}(config, options)`);
    const config = parseOptions(definition.config, input, definition.name);
    return {
      name: options.name ?? definition.name,
      cursorSchema: definition.cursor,
      read: (ctx) => definition.read(config, ctx),
      ...(definition.close ? { close: () => definition.close!(config) } : {}),
    };
  };
}
