import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseOptions } from '../src/internal/options.js';
import { InvalidOptionsError } from '../src/errors/invalid-options-error.js';

describe('parseOptions', () => {
  it('names the path, what was expected and what came', () => {
    expect(() => parseOptions(z.object({ batch: z.object({ size: z.number().int().min(1) }) }), { batch: { size: 0 } }, 'pipeline')).toThrow(
      'Expected `pipeline.batch.size` to be a number ≥ 1, got `0` (number).',
    );
  });

  it('never quotes a credential back in the message', () => {
    const schema = z.object({ clientSecret: z.string().regex(/^\S+$/), auth: z.object({ apiKey: z.string().min(40) }) });
    let error: unknown;
    try {
      parseOptions(schema, { clientSecret: 'canary-secret-9f2 ', auth: { apiKey: 'canary-key-77' } }, 'oauth');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/canary/);
    expect(message).toMatch(/`oauth.clientSecret`.*got a string of 18 characters \(not shown\)/);
    expect(message).toMatch(/`oauth.auth.apiKey`.*got a string of 13 characters \(not shown\)/);
  });
});
