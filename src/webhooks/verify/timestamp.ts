import { z } from 'zod';
import { InvalidOptionsError } from '../../errors/invalid-options-error.js';
import { clockSchema } from '../../internal/options.js';
import { systemClock, type Clock } from '../../time/clock.js';
import type { TimestampToleranceOptions } from './webhook-verifier.js';
import { WebhookVerificationError } from './webhook-verification-error.js';

/** Default of `toleranceSeconds`. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const MAX_TOLERANCE_SECONDS = 86_400;

/** Zod shape of {@link TimestampToleranceOptions}, to spread into a scheme's options schema. */
export const toleranceShape = {
  toleranceSeconds: z
    .number()
    .int({ error: `expected an integer number of seconds from 1 to ${MAX_TOLERANCE_SECONDS} (5 minutes is 300)` })
    .min(1, { error: `expected an integer number of seconds from 1 to ${MAX_TOLERANCE_SECONDS}; there is no way to switch the check off` })
    .max(MAX_TOLERANCE_SECONDS, { error: `expected an integer number of seconds from 1 to ${MAX_TOLERANCE_SECONDS} (senders re-sign each retry, so minutes suffice)` })
    .optional(),
  clock: clockSchema.optional(),
};

/** The resolved timestamp window of a verifier. */
export interface TimestampWindow {
  readonly toleranceSeconds: number;
  readonly clock: Clock;
}

/** Fills the window's defaults: 300 s and the system clock. */
export function resolveWindow(options: TimestampToleranceOptions): TimestampWindow {
  return { toleranceSeconds: options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS, clock: options.clock ?? systemClock };
}

/** Seconds since the epoch are 10 digits until 2286; 12 and more digits are milliseconds or finer. */
const MAX_SECONDS_DIGITS = 11;

function describeBadTimestamp(raw: string): string {
  if (/\s/.test(raw)) return 'contains whitespace';
  if (raw.startsWith('-')) return 'is negative';
  if (raw.startsWith('+')) return 'has a sign';
  if (/^\d+[.,]\d*$/.test(raw)) return 'has a fraction';
  if (/^\d+/.test(raw)) return 'has characters after the digits';
  return 'is not a number';
}

/**
 * Parses a signed timestamp strictly: whole seconds, digits only, no sign, no leading zeros, no
 * whitespace, no trailing characters, not milliseconds. Anything else is `malformed`, because lenient
 * parsing (`parseInt('1700000000abc')`) would sign one text and check another.
 */
export function parseTimestamp(raw: string, label: string, header: string, scheme: string): number {
  const fail = (what: string): never => {
    throw new WebhookVerificationError(
      'malformed',
      `the timestamp in ${label} must be whole seconds since the Unix epoch, digits only (e.g. 1767225600), but it ${what}.`,
      { scheme, header },
    );
  };
  if (!/^\d+$/.test(raw)) return fail(describeBadTimestamp(raw));
  if (raw.length > 1 && raw.startsWith('0')) return fail('has leading zeros');
  if (raw.length > MAX_SECONDS_DIGITS) {
    return fail(`has ${raw.length} digits, so it looks like milliseconds; the sender must send seconds`);
  }
  return Number(raw);
}

/** Rejects a timestamp further than the tolerance from the clock's now, either way. */
export function checkWindow(timestamp: number, window: TimestampWindow, label: string, header: string, scheme: string): void {
  const now = Math.floor(window.clock.now() / 1000);
  const age = now - timestamp;
  if (age > window.toleranceSeconds) {
    throw new WebhookVerificationError(
      'stale',
      `the signed timestamp in ${label} is ${age} s old; at most ${window.toleranceSeconds} s is accepted (\`toleranceSeconds\`). ` +
        'Either the request was replayed, or the clock of this server or of the sender is wrong (check NTP).',
      { scheme, header },
    );
  }
  if (-age > window.toleranceSeconds) {
    throw new WebhookVerificationError(
      'future',
      `the signed timestamp in ${label} is ${-age} s in the future; at most ${window.toleranceSeconds} s is accepted (\`toleranceSeconds\`). ` +
        'The clock of this server or of the sender is wrong (check NTP).',
      { scheme, header },
    );
  }
}

/** The text of a timestamp to sign, in whole seconds; milliseconds and fractions are a caller's bug. */
export function secondsText(timestamp: number, where: string): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || String(timestamp).length > MAX_SECONDS_DIGITS) {
    throw new InvalidOptionsError(
      `Expected the timestamp of \`${where}\` to be whole seconds since the Unix epoch (e.g. \`Math.floor(Date.now() / 1000)\`), got \`${timestamp}\`.`,
      ['timestamp'],
    );
  }
  return String(timestamp);
}
