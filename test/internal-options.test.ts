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

describe('parseOptions: unknown keys', () => {
  const schema = z.strictObject({
    concurrency: z.number().optional(),
    batch: z.strictObject({ size: z.number().optional(), maxWaitMs: z.number().optional() }).default({}),
  });

  it('names an unknown key and the known one it is closest to', () => {
    expect(() => parseOptions(schema, { concurency: 8 }, 'pipeline')).toThrow(
      'Expected `pipeline` to have no unknown option (`concurency`: did you mean `concurrency`?; known options: `concurrency`, `batch`).',
    );
  });

  it('finds the known keys of a nested object behind a default', () => {
    expect(() => parseOptions(schema, { batch: { maxWait: 5 } }, 'pipeline')).toThrow(/`pipeline.batch` to have no unknown option \(`maxWait`: did you mean `maxWaitMs`\?; known options: `size`, `maxWaitMs`\)/);
  });

  it('suggests nothing for a key unlike any known one', () => {
    expect(() => parseOptions(schema, { colour: 'red' }, 'pipeline')).toThrow(/\(`colour`; known options/);
  });
});
