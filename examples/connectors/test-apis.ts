// The two APIs the worked connector talks to, as json-server instances (a real third-party REST server)
// on random local ports, for the example's tests.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

type Req = IncomingMessage & { body?: Record<string, unknown>; get(name: string): string | undefined };
type Res = ServerResponse & { status(code: number): Res; json(body: unknown): Res; jsonp(body: unknown): Res };
type Middleware = (req: Req, res: Res, next: () => void) => void;
interface JsonServer {
  create(): { use(...handlers: unknown[]): void; listen(port: number, host: string, callback: () => void): Server };
  router(db: object): Middleware & { db: { getState(): Record<string, Record<string, unknown>[]> } };
  defaults(options: { logger?: boolean; noCors?: boolean; noGzip?: boolean }): Middleware[];
  bodyParser: Middleware[];
}
const jsonServer = createRequire(import.meta.url)('json-server') as JsonServer;

const servers: Server[] = [];

/** Stops every API started since the last call; call it in `afterEach`. */
export async function closeApis(): Promise<void> {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** json-server behind an auth check, plus whatever `middleware` the API adds. */
export async function api(db: Record<string, unknown[]>, authorized: (req: Req) => boolean, ...middleware: Middleware[]) {
  const app = jsonServer.create();
  const router = jsonServer.router(db);
  app.use(...jsonServer.defaults({ logger: false, noCors: true, noGzip: true }), jsonServer.bodyParser);
  app.use(((req, res, next) => (authorized(req) ? next() : void res.status(401).json({ error: 'unauthorized' }))) satisfies Middleware);
  app.use(...middleware, router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, db: () => router.db.getState() };
}

/** Customers the accounting API treats specially, besides the always-blocked `blocked@example.com`. */
export interface AccountingRules {
  /** Invoices for these customers are refused with a 422. */
  readonly refuse?: readonly string[];
  /** Requests for these customers are never answered (the API hangs). */
  readonly hang?: readonly string[];
}

/** The accounting API: invoices get a number, a blocked customer is refused (422), `Idempotency-Key` is honoured. */
export function accountingApi(token: string, { refuse = [], hang = [] }: AccountingRules = {}) {
  const replies = new Map<string, { status: number; body: unknown }>();
  let next = 5000;
  const idempotency: Middleware = (req, res, go) => {
    const key = req.get('idempotency-key');
    if (req.method !== 'POST' || key === undefined) return go();
    const earlier = replies.get(key);
    if (earlier) return void res.status(earlier.status).json(earlier.body);
    const jsonp = res.jsonp.bind(res);
    res.jsonp = (reply: unknown) => {
      replies.set(key, { status: res.statusCode, body: reply });
      return jsonp(reply);
    };
    go();
  };
  const rules: Middleware = (req, res, go) => {
    const customer = req.method === 'POST' ? req.body?.['customer'] : undefined;
    if (typeof customer === 'string' && hang.includes(customer)) return;
    if (customer === 'blocked@example.com' || (typeof customer === 'string' && refuse.includes(customer))) {
      return void res.status(422).json({ error: 'customer is blocked for invoicing' });
    }
    if (req.method === 'POST' && req.body) req.body['number'] = `INV-${next++}`;
    go();
  };
  return api({ invoices: [] }, (req) => req.get('authorization') === `Bearer ${token}`, idempotency, rules);
}
