import type { z } from 'zod';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import { PermanentError } from '../../errors/permanent-error.js';
import { RecordValidationError } from '../../errors/record-validation-error.js';
import type { InboxEntry } from '../../stores/inbox-store.js';
import { toValidationIssues } from '../../steps/apply.js';

/**
 * A `map` step for {@link inboxSource} records: parses the entry's body as JSON and checks it with a zod
 * schema. A body that is not JSON throws a `PermanentError`, one that fails the schema a
 * `RecordValidationError` with every issue and its path: either way the record is dead-lettered, with
 * the entry as received, and the run goes on. Replay it once the schema or the sender is fixed.
 *
 * @example
 * ```ts
 * import { inboxJson } from 'syncline/webhooks';
 * import { z } from 'zod';
 *
 * const PaymentEvent = z.object({ type: z.literal('payment.succeeded'), data: z.object({ id: z.string(), amount: z.number().int() }) });
 * pipeline({ id: 'payments', source: inboxSource({ inbox: stores.inbox, name: 'payments' }), stores })
 *   .map(inboxJson(PaymentEvent)) // typed: z.output<typeof PaymentEvent>
 *   .to(ledger);
 * ```
 */
export function inboxJson<S extends z.ZodType>(schema: S): (entry: InboxEntry) => z.output<S> {
  if (typeof (schema as { safeParse?: unknown } | null)?.safeParse !== 'function') {
    throw new InvalidOptionsError(`Expected \`inboxJson(schema)\` to get a zod schema, got ${schema === null ? 'null' : typeof schema}. Pass a zod 4 schema such as \`z.object({...})\`.`, [
      'schema',
    ]);
  }
  return (entry) => {
    let json: unknown;
    try {
      json = JSON.parse(entry.body);
    } catch (error) {
      throw new PermanentError(
        `The body of inbox entry \`${entry.id}\` (seq ${entry.seq}) is not valid JSON: ${(error as Error).message}. ` +
          'Fix the sender or the parsing, then replay the dead letter.',
        { cause: error },
      );
    }
    const result = schema.safeParse(json);
    if (!result.success) throw new RecordValidationError(toValidationIssues(result.error.issues), { cause: result.error });
    return result.data;
  };
}
