import { StoreVersionError } from '../errors/store-version-error.js';

/**
 * The Redis keys under this key prefix were written by a newer syncline: their layout version is above
 * the one this code knows. syncline never downgrades or resets them, so nothing was read or written.
 *
 * Its `code` is `FATAL` (a run that meets it stops before reading): match on `name` or `instanceof`.
 *
 * @example
 * ```ts
 * import { RedisLayoutVersionError } from 'syncline/redis';
 *
 * try {
 *   await stores.checkpoints.load('orders-to-invoices');
 * } catch (error) {
 *   if (error instanceof RedisLayoutVersionError) console.error(`upgrade syncline: ${error.foundVersion} > ${error.supportedVersion}`);
 * }
 * ```
 */
export class RedisLayoutVersionError extends StoreVersionError {
  override readonly name = 'RedisLayoutVersionError' as const;
  /** The `keyPrefix` of the stores. */
  readonly keyPrefix: string;
  /** The layout version recorded in `<keyPrefix>layout`. */
  readonly foundVersion: number;
  /** The newest layout version this syncline knows. */
  readonly supportedVersion: number;

  constructor(keyPrefix: string, foundVersion: number, supportedVersion: number) {
    super(
      `Redis keys under prefix \`${keyPrefix}\` use syncline key layout version ${foundVersion} (key \`${keyPrefix}layout\`), but this ` +
        `syncline supports versions up to ${supportedVersion}: a newer syncline wrote them. Nothing was read or written. ` +
        'Upgrade syncline to the version that wrote them (or newer), or use another `keyPrefix`. Do not delete the keys: they hold ' +
        'checkpoints, leases and the inbox.',
    );
    this.keyPrefix = keyPrefix;
    this.foundVersion = foundVersion;
    this.supportedVersion = supportedVersion;
  }
}
