import { describe, expect, it, vi } from 'vitest';

// As if ioredis were not installed: importing it fails the way Node's resolver does.
vi.mock('ioredis', () => {
  throw Object.assign(new Error("Cannot find package 'ioredis' imported from syncline"), { code: 'ERR_MODULE_NOT_FOUND' });
});

describe('syncline/redis without ioredis installed', () => {
  it('loads, and connectRedisStores throws an install hint naming the package', async () => {
    const { connectRedisStores } = await import('../../src/redis/index.js');
    const error = await connectRedisStores({ url: 'redis://127.0.0.1:6379' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'InvalidOptionsError', code: 'INVALID_OPTIONS' });
    expect((error as Error).message).toContain('npm install ioredis');
    expect((error as Error).cause).toBeDefined();
  });
});
