import { z } from 'zod';
import { functionSchema, objectWithMethods, parseOptions } from '../internal/options.js';
import type { Sink, SinkRecord, SinkResult, SinkWriteContext } from './sink.js';

/** The definition of a connector's sink, for {@link defineSink}. */
export interface SinkDefinition<Config extends z.ZodType, T> {
  /** The connector's name; also the default sink name. */
  readonly name: string;
  /** Schema of the connector's configuration; checked when the sink is created. */
  readonly config: Config;
  /** Writes one batch with the parsed configuration. See {@link Sink} for the lifecycle. */
  readonly write: (config: z.output<Config>, records: readonly SinkRecord<T>[], ctx: SinkWriteContext) => Promise<void | readonly SinkResult[]>;
  /** Releases connections. */
  readonly close?: (config: z.output<Config>) => Promise<void>;
}

const definitionSchema = z.strictObject({
  name: z.string().min(1),
  config: objectWithMethods<z.ZodType>(['safeParse'], 'a zod schema'),
  write: functionSchema('a function (config, records, ctx) => Promise<void | SinkResult[]>'),
  close: functionSchema('a function (config) => Promise<void>').optional(),
});

const connectorOptionsSchema = z.strictObject({ name: z.string().min(1).optional() });

/**
 * Defines a typed sink connector: returns a factory that validates its configuration (a zod schema)
 * and builds the {@link Sink}.
 *
 * @example
 * ```ts
 * import { defineSink, PermanentError } from 'syncline';
 * import { z } from 'zod';
 *
 * export const ledger = defineSink({
 *   name: 'ledger',
 *   config: z.object({ currency: z.enum(['EUR', 'USD']) }),
 *   async write(config, records: readonly { key: string; idempotencyKey: string; data: { amount: number; currency: string } }[]) {
 *     return records.map((r) =>
 *       r.data.currency === config.currency
 *         ? { key: r.key, status: 'written' as const }
 *         : { key: r.key, status: 'failed' as const, error: new PermanentError(`wrong currency ${r.data.currency}`) },
 *     );
 *   },
 * });
 * const sink = ledger({ currency: 'EUR' });
 * ```
 */
export function defineSink<Config extends z.ZodType, T>(
  definition: SinkDefinition<Config, T>,
): (config: z.input<Config>, options?: { readonly name?: string }) => Sink<T> {
  parseOptions(definitionSchema, definition, 'defineSink', 'Pass `{ name, config, write, close? }`.');
  return (input, options = {}) => {
    parseOptions(connectorOptionsSchema, options, `${definition.name}(config, options)`);
    const config = parseOptions(definition.config, input, definition.name);
    return {
      name: options.name ?? definition.name,
      write: (records, ctx) => definition.write(config, records, ctx),
      ...(definition.close ? { close: () => definition.close!(config) } : {}),
    };
  };
}
