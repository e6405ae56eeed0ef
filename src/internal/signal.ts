/**
 * Throws the signal's reason when it is already aborted. Memory stores call it first in every async
 * method, so an aborted call rejects with `signal.reason` and changes nothing, as a durable store would.
 *
 * @internal
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}
