import { expect } from 'vitest';
import type { WebhookHeaders, WebhookVerifier } from '../../src/webhooks/verify/webhook-verifier.js';
import { WebhookVerificationError } from '../../src/webhooks/verify/webhook-verification-error.js';

/** Runs `verify` expecting a rejection; checks that its message leaks none of `forbidden` (secrets, signatures). */
export function rejectionOf(verifier: WebhookVerifier, headers: WebhookHeaders, body: string | Uint8Array, forbidden: readonly string[]): WebhookVerificationError {
  let caught: unknown;
  try {
    verifier.verify({ headers, body });
  } catch (error) {
    caught = error;
  }
  expect(caught, 'the request must be rejected').toBeInstanceOf(WebhookVerificationError);
  const error = caught as WebhookVerificationError;
  for (const value of forbidden) {
    if (value.length >= 8) {
      expect(error.message).not.toContain(value);
      expect(JSON.stringify(error)).not.toContain(value);
    }
  }
  return error;
}
