import { Socket } from 'node:net';

/** Where the test suites find PostgreSQL and Redis (CI sets these; the defaults match the dev machine). */
export const PG_URL = process.env['PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** CI sets this: a missing service is then a failure, never a skip. */
const required = process.env['SYNCLINE_REQUIRE_SERVICES'] === '1';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port), hostname.replace(/^\[|\]$/g, ''), () => done(true));
  });
}

/**
 * Whether a service's suites should run. Unreachable: on a laptop the suites are skipped with one line
 * saying why; under `SYNCLINE_REQUIRE_SERVICES=1` (CI) it throws, so CI never skips.
 */
export async function serviceAvailable(name: 'PostgreSQL' | 'Redis', url: string): Promise<boolean> {
  if (await reachable(url)) return true;
  const where = new URL(url).host;
  if (required) throw new Error(`${name} is not reachable at ${where}, and SYNCLINE_REQUIRE_SERVICES=1 forbids skipping. Start it (see .ci/run).`);
  console.warn(`[syncline] ${name} is not reachable at ${where}: skipping its suites. Start it, or set ${name === 'PostgreSQL' ? 'PG_URL' : 'REDIS_URL'}, to run them.`);
  return false;
}
