import { describe, expect, it } from 'vitest';
import { SynclineError, isSynclineError } from '../../src/errors/syncline-error.js';
import { WebhookVerificationError } from '../../src/webhooks/verify/webhook-verification-error.js';

describe('WebhookVerificationError', () => {
  it('is a permanent syncline error with the stable code WEBHOOK_REJECTED and a reason', () => {
    const error = new WebhookVerificationError('bad-signature', 'no signature matches.', { scheme: 'standard-webhooks', header: 'webhook-signature' });
    expect(error).toBeInstanceOf(SynclineError);
    expect(isSynclineError(error)).toBe(true);
    expect(error.name).toBe('WebhookVerificationError');
    expect(error.code).toBe('WEBHOOK_REJECTED');
    expect(error.errorClass).toBe('permanent');
    expect(error.reason).toBe('bad-signature');
    expect(error.scheme).toBe('standard-webhooks');
    expect(error.header).toBe('webhook-signature');
    expect(error.message).toBe('Webhook rejected (bad-signature) by the standard-webhooks verifier: no signature matches.');
  });

  it('can be raised outside a verifier, e.g. by the intake for an oversized body', () => {
    const error = new WebhookVerificationError('too-large', 'the body is over the 1048576-byte limit (`maxBodyBytes`).');
    expect(error.reason).toBe('too-large');
    expect(error.scheme).toBeUndefined();
    expect(error.header).toBeUndefined();
    expect(error.message).toBe('Webhook rejected (too-large): the body is over the 1048576-byte limit (`maxBodyBytes`).');
  });
});
