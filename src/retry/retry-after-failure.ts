import type { RetryPolicy, RetryRunOptions } from './retry-policy.js';

/**
 * @internal Retries an operation whose first attempt already ran and failed with `firstError`: the policy
 * counts that failure as attempt 1 (classifying it, waiting its backoff or `Retry-After`, calling
 * `onRetry`) and calls `fn` from attempt 2 on. The one helper for "the fast path failed, now retry",
 * so every caller waits, counts and gives up the same way.
 */
export function retryAfterFailure<T>(
  policy: RetryPolicy,
  firstError: unknown,
  fn: (attempt: number) => Promise<T>,
  options: RetryRunOptions,
): Promise<T> {
  return policy.run((attempt) => (attempt === 1 ? Promise.reject(firstError) : fn(attempt)), options);
}
