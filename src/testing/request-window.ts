/** The densest window found by {@link maxRequestsInWindow}. */
export interface RequestWindow {
  /** Requests in the window. */
  readonly count: number;
  /** Start of the window (the time of its first request), epoch ms; `NaN` when there were no requests. */
  readonly from: number;
  /** The window's length in ms, as asked. */
  readonly windowMs: number;
}

/**
 * The most requests that fall in any window of `windowMs` — a sliding window over the request times,
 * not fixed buckets — e.g. from a `faultServer` log, to check a rate limit from the server's side.
 *
 * Windows are half-open: a request exactly `windowMs` after another is in the next window, so at a
 * limit of `n` per `windowMs`, requests spaced exactly `windowMs / n` apart give `n`.
 *
 * @param requests - Anything with an `at` time in ms, in any order (e.g. `server.log`).
 *
 * @example
 * ```ts
 * import { faultServer, maxRequestsInWindow } from 'syncline/testing';
 *
 * const server = await faultServer({ handler: () => Response.json({ ok: true }) });
 * // … send requests through a client limited to 20 per second …
 * const densest = maxRequestsInWindow(server.log, 1000);
 * console.log(`${densest.count} requests in the busiest second`);
 * ```
 */
export function maxRequestsInWindow(requests: readonly { readonly at: number }[], windowMs: number): RequestWindow {
  if (!(typeof windowMs === 'number' && windowMs > 0 && Number.isFinite(windowMs))) {
    throw new RangeError(`Expected \`windowMs\` of maxRequestsInWindow() to be a positive finite number of milliseconds, got ${String(windowMs)}.`);
  }
  const times = requests.map((request) => request.at).sort((a, b) => a - b);
  let best: RequestWindow = { count: 0, from: Number.NaN, windowMs };
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    const count = end - start + 1;
    if (count > best.count) best = { count, from: times[start]!, windowMs };
  }
  return best;
}
