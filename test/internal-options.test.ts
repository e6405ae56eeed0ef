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

describe('parseOptions: unions and hints', () => {
  const auth = z.union([z.strictObject({ key: z.string(), query: z.string() }), z.strictObject({ key: z.string(), header: z.string().optional() })]);

  it('reports the issues of the union branch the input came closest to, not "invalid input"', () => {
    expect(() => parseOptions(auth, { kye: 'k' }, 'auth')).toThrow(
      'Expected `auth.key` to be a string, got undefined. Expected `auth` to have no unknown option (`kye`: did you mean `key`?; known options: `key`, `query`, `header`).',
    );
  });

  it('keeps the union’s own message when every branch rejects the value outright', () => {
    const url = z.union([z.string(), z.instanceof(URL)], { error: 'Invalid input: expected a URL (string or URL)' });
    expect(() => parseOptions(z.strictObject({ baseUrl: url }), { baseUrl: 5 }, 'client')).toThrow('Expected `client.baseUrl` to be a URL (string or URL), got `5` (number).');
  });

  it('suggests from the discriminated branch the input names', () => {
    const sink = z.discriminatedUnion('mode', [
      z.strictObject({ mode: z.literal('record'), concurrency: z.number().optional() }),
      z.strictObject({ mode: z.literal('batch'), results: z.function().optional() }),
    ]);
    expect(() => parseOptions(sink, { mode: 'batch', result: 1 }, 'sink')).toThrow(/`result`: did you mean `results`\?; known options: `mode`, `results`\)/);
  });

  it('counts a swap of neighbours as one edit, and suggests the one known name that contains the key', () => {
    const schema = z.strictObject({ clock: z.number().optional(), keyPrefix: z.string().optional(), toleranceSeconds: z.number().optional() });
    expect(() => parseOptions(schema, { clokc: 1 }, 'o')).toThrow(/`clokc`: did you mean `clock`\?/);
    expect(() => parseOptions(schema, { prefix: 'x' }, 'o')).toThrow(/`prefix`: did you mean `keyPrefix`\?/);
    expect(() => parseOptions(schema, { tolerance: 1 }, 'o')).toThrow(/`tolerance`: did you mean `toleranceSeconds`\?/);
  });

  it('describes an object by its keys, never its values (a credential may sit under any name)', () => {
    const schema = z.strictObject({ token: z.string().optional() }).refine((o) => o.token !== undefined, { error: 'Invalid input: expected `token`' });
    let message = '';
    try {
      parseOptions(schema, { tokne: 'canary-77' }, 'auth');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/got an object with key `tokne`/);
    expect(message).not.toContain('canary');
  });
});
