/**
 * The simulated accounting system: a real HTTP server on a random local port, built on `faultServer`
 * from `syncline/testing`.
 *
 * - `POST /oauth/token`: OAuth2 client credentials (HTTP Basic), access tokens that live 2 seconds.
 * - `POST /invoices` with a bearer token and an `Idempotency-Key`: creates an invoice and answers with
 *   its number; the same key again answers with the same invoice. Unknown currencies or empty invoices
 *   are refused with 422. About 8 % of these requests meet a 503 (the system is busy).
 * - `revokeTokens()` invalidates every token issued so far, as a key rotation does: the next request
 *   with one of them gets 401 `invalid_token`.
 */
import { randomBytes } from 'node:crypto';
import { faultServer, type FaultServer } from 'syncline/testing';
import type { AccountingInvoice, ApiState } from './api-state.js';

/** Lifetime of an access token, in seconds. */
export const TOKEN_LIFETIME_S = 2;
const CURRENCIES = new Set(['EUR', 'USD', 'GBP']);

export interface AccountingApi {
  readonly url: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  /** A fresh secret per start. */
  readonly clientSecret: string;
  readonly server: FaultServer;
  /** Access tokens issued so far (for the report, and for a test that checks none leaked). */
  readonly tokens: readonly string[];
  /** Invalidates every token issued so far. */
  revokeTokens(): void;
  close(): Promise<void>;
}

export interface AccountingApiOptions {
  readonly seed: number;
  /** Called after each invoice this process creates, with how many it has created. */
  readonly onInvoiceCreated?: (created: number) => void;
}

const problem = (status: number, error: string, description?: string): Response =>
  Response.json({ error, ...(description === undefined ? {} : { error_description: description }) }, { status });

/** Starts the accounting system over `state.accounting`; `persist` is called after every change. */
export async function startAccountingApi(state: ApiState, persist: () => void, options: AccountingApiOptions): Promise<AccountingApi> {
  const clientId = 'syncline-demo';
  const clientSecret = `cs_${randomBytes(16).toString('hex')}`;
  const tokens = new Map<string, number>(); // token → expires at (epoch ms)
  let created = 0;

  const server = await faultServer({
    seeded: { seed: options.seed, rates: { 'server-error': 0.08 }, statuses: [503], when: (r) => r.method === 'POST' && r.path === '/invoices' },
    handler: async (request) => {
      const url = new URL(request.url);
      if (request.method === 'POST' && url.pathname === '/oauth/token') {
        const basic = /^Basic\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
        const [id, secret] = Buffer.from(basic ?? '', 'base64').toString('utf8').split(':');
        if (decodeURIComponent(id ?? '') !== clientId || decodeURIComponent(secret ?? '') !== clientSecret) return problem(401, 'invalid_client');
        const form = new URLSearchParams(await request.text());
        if (form.get('grant_type') !== 'client_credentials') return problem(400, 'unsupported_grant_type');
        const token = `at_${randomBytes(16).toString('hex')}`;
        tokens.set(token, Date.now() + TOKEN_LIFETIME_S * 1000);
        return Response.json({ access_token: token, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S });
      }

      const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
      const expiresAt = bearer === undefined ? undefined : tokens.get(bearer);
      if (expiresAt === undefined || expiresAt <= Date.now()) return problem(401, 'invalid_token', 'The access token is unknown or expired');

      if (request.method === 'POST' && url.pathname === '/invoices') {
        const key = request.headers.get('idempotency-key');
        if (!key) return problem(400, 'Idempotency-Key header required');
        const earlier = state.accounting.idempotency[key];
        if (earlier !== undefined) return Response.json(state.accounting.invoices.find((i) => i.id === earlier), { status: 200 });
        const body = (await request.json().catch(() => undefined)) as Omit<AccountingInvoice, 'id' | 'number' | 'total_cents' | 'issued_at'> | undefined;
        if (!body || !CURRENCIES.has(body.currency)) return problem(422, 'unsupported currency');
        if (!Array.isArray(body.lines) || body.lines.length === 0) return problem(422, 'an invoice needs at least one line');
        const id = state.accounting.invoices.length + 1;
        const invoice: AccountingInvoice = {
          id,
          number: `INV-2026-${String(id).padStart(4, '0')}`,
          reference: body.reference,
          customer: body.customer,
          currency: body.currency,
          lines: body.lines,
          total_cents: body.lines.reduce((sum, line) => sum + line.quantity * line.unit_amount_cents, 0),
          issued_at: new Date().toISOString(),
        };
        state.accounting.invoices.push(invoice);
        state.accounting.idempotency[key] = id;
        persist();
        options.onInvoiceCreated?.(++created);
        return Response.json(invoice, { status: 201 });
      }
      return problem(404, `no route ${request.method} ${url.pathname}`);
    },
  });

  return {
    url: server.url,
    tokenUrl: `${server.url}/oauth/token`,
    clientId,
    clientSecret,
    server,
    get tokens() {
      return [...tokens.keys()];
    },
    revokeTokens() {
      for (const token of tokens.keys()) server.expireToken(token);
    },
    close: () => server.close(),
  };
}
