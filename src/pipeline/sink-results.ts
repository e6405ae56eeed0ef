import type { SinkResult } from '../sink/sink.js';
import { SinkContractError } from '../errors/sink-contract-error.js';

/** @internal One result, checked, with the batch index of its record. */
export interface CheckedResult {
  readonly index: number;
  readonly result: SinkResult;
}

/**
 * @internal Validates a sink's whole answer before any of it is acted on: an array of results, each
 * naming a record of the records written (`open`), at most one per record, with a known status. Anything
 * else is a {@link SinkContractError} (the run stops; nothing of the answer is recorded).
 */
export function checkResults(
  results: unknown,
  byKey: ReadonlyMap<string, number>,
  open: (index: number) => boolean,
  pipelineId: string,
  sinkName: string,
): CheckedResult[] {
  if (!Array.isArray(results)) {
    throw new SinkContractError(pipelineId, sinkName, `write() resolved ${typeof results}; expected nothing or an array of results`);
  }
  const handled = new Set<number>();
  const checked: CheckedResult[] = [];
  for (const result of results as readonly unknown[]) {
    const key = (result as { key?: unknown } | null)?.key;
    const index = typeof key === 'string' ? byKey.get(key) : undefined;
    if (index === undefined || !open(index)) {
      throw new SinkContractError(pipelineId, sinkName, `a result names key ${JSON.stringify(key)}, which is not in the batch it was given`);
    }
    if (handled.has(index)) throw new SinkContractError(pipelineId, sinkName, `two results name key ${JSON.stringify(key)}`);
    const status = (result as { status?: unknown }).status;
    if (status !== 'written' && status !== 'skipped' && status !== 'failed') {
      throw new SinkContractError(pipelineId, sinkName, `the result for key ${JSON.stringify(key)} has status ${JSON.stringify(status)}; expected written, skipped or failed`);
    }
    handled.add(index);
    checked.push({ index, result: result as SinkResult });
  }
  return checked;
}
