import { createHash } from 'node:crypto';
import type { RedisArgument, RedisScriptClient } from './redis-client.js';

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` when the server does not have it cached (first
 * use, after a restart or `SCRIPT FLUSH`, or on another node of a cluster). Redis runs a script
 * atomically: no other command runs between its reads and writes, which is what makes the lease and
 * compare-and-set checks sound without `WATCH`.
 *
 * @internal
 */
export class LuaScript {
  readonly source: string;
  readonly sha1: string;

  constructor(source: string) {
    this.source = source;
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisScriptClient, keys: readonly string[], args: readonly RedisArgument[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
