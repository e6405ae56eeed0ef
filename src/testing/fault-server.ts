import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseOptions } from '../internal/options.js';
import { formatRetryAfter } from './retry-after-value.js';
import { seededRandom } from './seeded-random.js';
import { FAULT_KINDS, faultSchema, optionsSchema } from './fault-server-options.js';
import type { Fault, FaultKind, FaultRequestInfo, FaultServer, FaultServerOptions, FaultServerRequest, ParsedOptions, ServerErrorStatus } from './fault-server-options.js';


export type { ServerErrorStatus, Fault, FaultKind, FaultRequestInfo, FaultHandler, SeededFaults, FaultServerOptions, FaultServerRequest, FaultServer } from './fault-server-options.js';
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Real time with sub-millisecond precision: log times measure real traffic even under a fake clock. */
const realNow = (): number => performance.timeOrigin + performance.now();

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n' +
  '<body><h1>We&rsquo;ll be right back</h1><p>The site is down for maintenance.</p></body></html>\n';

class FaultHttpServer implements FaultServer {
  readonly log: Mutable<FaultServerRequest>[] = [];
  url = '';
  readonly #options: ParsedOptions;
  readonly #expired: Set<string>;
  readonly #random: (() => number) | undefined;
  readonly #hung = new Map<ServerResponse, ReturnType<typeof setTimeout>>();
  readonly #server: Server;
  #burst: { left: number; status: ServerErrorStatus } | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ParsedOptions, createServer: typeof import('node:http').createServer) {
    this.#server = createServer((req, res) => void this.#serve(req, res));
    this.#options = options;
    this.#expired = new Set(options.expiredTokens);
    this.#random = options.seeded ? seededRandom(options.seeded.seed) : undefined;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  faultCounts(): Readonly<Record<FaultKind, number>> {
    const counts: Record<FaultKind, number> = { 'rate-limit': 0, 'server-error': 0, reset: 0, hang: 0, truncated: 0, html: 0, 'expired-token': 0 };
    for (const entry of this.log) if (entry.fault !== undefined) counts[entry.fault]++;
    return counts;
  }

  expireToken(token: string): void {
    this.#expired.add(token);
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const timer of this.#hung.values()) clearTimeout(timer);
      this.#hung.clear();
      this.#server.close(() => resolve());
      // Hung and keep-alive connections would hold close() open: cut them.
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = realNow();
    const n = this.log.length + 1;
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const idempotency = req.headers[this.#options.idempotencyHeader.toLowerCase()];
    const idempotencyKey = Array.isArray(idempotency) ? idempotency.join(', ') : idempotency;
    const logged: Record<string, string> = {};
    for (const name of this.#options.logHeaders) {
      const value = req.headers[name.toLowerCase()];
      if (value !== undefined) logged[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const entry: Mutable<FaultServerRequest> = {
      n,
      at,
      endedAt: undefined,
      method,
      path,
      idempotencyKey,
      headers: logged,
      fault: undefined,
      handled: false,
      status: undefined,
      retryAfter: undefined,
      error: undefined,
    };
    this.log.push(entry);
    res.on('close', () => {
      entry.endedAt = realNow();
      const timer = this.#hung.get(res);
      if (timer !== undefined) clearTimeout(timer);
      this.#hung.delete(res);
    });

    let body: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      body = Buffer.concat(chunks);
    } catch {
      return; // the client went away while sending
    }
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const info: FaultRequestInfo = { n, method, path, headers, idempotencyKey };

    // Draw for every request, eligible or not, so the same seed gives the same sequence by arrival number.
    const draws = this.#random ? [this.#random(), this.#random(), this.#random(), this.#random()] : undefined;
    let fault: Fault | undefined;
    try {
      fault = this.#scripted(info) ?? this.#seeded(info, draws);
    } catch (error) {
      entry.error = `the fault script failed: ${error instanceof Error ? error.message : String(error)}`;
      this.#send(res, entry, 500, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ error: entry.error })));
      return;
    }

    const bearer = /^Bearer\s+(.+)$/i.exec(headers.get('authorization') ?? '')?.[1]?.trim();
    if (bearer !== undefined && this.#expired.has(bearer)) {
      entry.fault = 'expired-token';
      const text = JSON.stringify({ error: 'invalid_token', error_description: 'The access token expired' });
      this.#send(res, entry, 401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' }, Buffer.from(text));
      return;
    }

    if (fault === undefined) {
      const answer = await this.#handle(info, body, entry);
      this.#send(res, entry, answer.status, answer.headers, answer.body);
      return;
    }

    entry.fault = fault.kind;
    switch (fault.kind) {
      case 'rate-limit': {
        const retryAfter = formatRetryAfter(fault.retryAfter ?? 'seconds', fault.seconds ?? 1, this.#options.clock.now());
        entry.retryAfter = retryAfter;
        const text = JSON.stringify({ error: 'rate_limited', message: 'Too many requests' });
        this.#send(res, entry, 429, { 'content-type': 'application/json', ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) }, Buffer.from(text));
        return;
      }
      case 'server-error': {
        const status = fault.status ?? 503;
        this.#send(res, entry, status, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ error: `injected ${status}` })));
        return;
      }
      case 'html':
        this.#send(res, entry, 200, { 'content-type': 'text/html; charset=utf-8' }, Buffer.from(HTML_PAGE));
        return;
      case 'reset':
        if (fault.afterHandler) await this.#handle(info, body, entry);
        // An RST, not a FIN: the client sees ECONNRESET, as when a proxy or the server process dies.
        if (!req.socket.destroyed) req.socket.resetAndDestroy();
        return;
      case 'hang':
        if (fault.afterHandler) await this.#handle(info, body, entry);
        this.#hang(res, req.socket);
        return;
      case 'truncated': {
        const answer = await this.#handle(info, body, entry);
        this.#truncate(res, entry, answer);
        return;
      }
    }
  }

  #scripted(info: FaultRequestInfo): Fault | undefined {
    const script = this.#options.script;
    if (script === undefined) return undefined;
    // Entries were checked against `faultSchema` up front; a function's answer is checked below.
    const planned = (typeof script === 'function' ? script(info) : script[info.n - 1]) as Fault | null | undefined;
    if (planned === null || planned === undefined) return undefined;
    const checked = faultSchema.safeParse(planned);
    if (!checked.success) {
      throw new Error(`request ${info.n}: expected a Fault ({ kind: 'rate-limit' | 'server-error' | 'reset' | 'hang' | 'truncated' | 'html', … }), got ${JSON.stringify(planned)}`);
    }
    return planned;
  }

  #seeded(info: FaultRequestInfo, draws: readonly number[] | undefined): Fault | undefined {
    const seeded = this.#options.seeded;
    if (seeded === undefined || draws === undefined) return undefined;
    if (seeded.when && !seeded.when(info)) return undefined;
    const [u = 0, v = 0, w = 0, x = 0] = draws;
    if (this.#burst !== undefined && this.#burst.left > 0) {
      this.#burst.left--;
      return { kind: 'server-error', status: this.#burst.status };
    }
    let threshold = 0;
    for (const kind of FAULT_KINDS) {
      threshold += seeded.rates[kind] ?? 0;
      if (u >= threshold) continue;
      switch (kind) {
        case 'rate-limit':
          return { kind, retryAfter: pick(seeded.retryAfter, v), seconds: seeded.retryAfterSeconds };
        case 'server-error': {
          const status = pick(seeded.statuses, v);
          this.#burst = { left: Math.floor(w * seeded.maxBurst), status };
          return { kind, status };
        }
        case 'reset':
        case 'hang':
          return { kind, afterHandler: x < seeded.afterHandler };
        case 'truncated':
        case 'html':
          return { kind };
      }
    }
    return undefined;
  }

  /** Runs the handler; a throw becomes a 500 with its message. */
  async #handle(info: FaultRequestInfo, body: Buffer, entry: Mutable<FaultServerRequest>): Promise<Answer> {
    const hasBody = info.method !== 'GET' && info.method !== 'HEAD';
    const request = new Request(new URL(info.path, this.url), {
      method: info.method,
      headers: info.headers,
      ...(hasBody ? { body } : {}),
    });
    entry.handled = true;
    try {
      const response = await this.#options.handler(request, info);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return { status: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
    } catch (error) {
      entry.error = error instanceof Error ? error.message : String(error);
      return { status: 500, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error: 'handler failed' })) };
    }
  }

  #send(res: ServerResponse, entry: Mutable<FaultServerRequest>, status: number, headers: Readonly<Record<string, string>>, body: Buffer): void {
    if (res.destroyed || this.#closing) return;
    entry.status = status;
    res.writeHead(status, { ...headers, 'content-length': String(body.byteLength) });
    res.end(body);
  }

  /** Sends the status, headers and half the body, with a `Content-Length` of all of it, then closes the connection. */
  #truncate(res: ServerResponse, entry: Mutable<FaultServerRequest>, answer: Answer): void {
    if (res.destroyed || this.#closing) return;
    entry.status = answer.status;
    const part = answer.body.subarray(0, Math.floor(answer.body.byteLength / 2));
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Math.max(answer.body.byteLength, part.byteLength + 1)) });
    res.write(part, () => res.socket?.destroy());
  }

  #hang(res: ServerResponse, socket: Socket): void {
    if (res.destroyed || this.#closing) return;
    const timer = setTimeout(() => {
      this.#hung.delete(res);
      socket.destroy();
    }, this.#options.maxHangMs);
    timer.unref();
    this.#hung.set(res, timer);
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

const pick = <T>(values: readonly T[], u: number): T => values[Math.min(values.length - 1, Math.floor(u * values.length))]!;

/**
 * Starts a `node:http` server on 127.0.0.1 (a random port) that answers with your handler but injects
 * faults — scripted by request number, or drawn from a seed at given rates — and logs every request, so
 * a test can check retries, idempotency and rate limits from the server's side.
 *
 * The faults are the ones real APIs produce: 429 with every `Retry-After` form (delta seconds, the three
 * HTTP-date forms, `0`, negative, garbage, huge), 500/502/503/504 in bursts, a connection reset, a hang
 * past the client's timeout (cut after `maxHangMs`), a body cut short, an HTML page instead of JSON, and a
 * 401 for an expired bearer token (see {@link Fault}). Some happen after the handler ran, as they do in
 * production: the write took effect, the client saw a failure.
 *
 * The log (`server.log`) holds, per request: arrival number and time, method, path, the idempotency key,
 * the headers named in `logHeaders`, the fault injected, whether the handler ran, and the status sent.
 * `maxRequestsInWindow(server.log, 1000)` gives the busiest second.
 *
 * @example
 * ```ts
 * import { faultServer, maxRequestsInWindow } from 'syncline/testing';
 *
 * const written = new Map<string, unknown>();
 * const api = await faultServer({
 *   handler: async (request, { idempotencyKey }) => {
 *     if (idempotencyKey && !written.has(idempotencyKey)) written.set(idempotencyKey, await request.json());
 *     return Response.json({ ok: true }, { status: 201 });
 *   },
 *   seeded: { seed: 42, rates: { 'rate-limit': 0.03, 'server-error': 0.05, reset: 0.01, truncated: 0.01 }, maxBurst: 3 },
 * });
 * // … point a client at api.url …
 * console.log(api.faultCounts(), maxRequestsInWindow(api.log, 1000).count);
 * await api.close();
 * ```
 */
export async function faultServer(options: FaultServerOptions): Promise<FaultServer> {
  const parsed = parseOptions(optionsSchema, options, 'faultServer', 'Check the options passed to `faultServer()`.');
  // node:http is loaded here, not at import: importing it opens a handle, and syncline/testing must not.
  const { createServer } = await import('node:http');
  const server = new FaultHttpServer(parsed, createServer);
  await server.listen();
  return server;
}
