/**
 * The data of the two simulated systems — the shop's orders and the accounting system's invoices — kept
 * in a JSON file beside the syncline state database, so that a second `npm run demo` meets the same shop
 * and the same accounting system as the first (with what the first run wrote into them).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** An order as the shop's API returns it. */
export interface ShopOrder {
  readonly id: number;
  readonly number: string;
  readonly customer: { readonly name: string; readonly email: string };
  readonly currency: string;
  readonly lines: readonly { readonly sku: string; readonly title: string; readonly quantity: number; readonly unit_price: string }[];
  readonly placed_at: string;
  readonly updated_at: string;
  /** Set by the write-back; the shop keeps it as a note, which does not change `updated_at`. */
  invoice_number: string | null;
}

/** An invoice as the accounting system stores it. */
export interface AccountingInvoice {
  readonly id: number;
  readonly number: string;
  /** The shop order it bills, e.g. `shop-order-1042`. */
  readonly reference: string;
  readonly customer: { readonly name: string; readonly email: string };
  readonly currency: string;
  readonly lines: readonly { readonly description: string; readonly quantity: number; readonly unit_amount_cents: number }[];
  readonly total_cents: number;
  readonly issued_at: string;
}

/** Everything both simulated systems hold. */
export interface ApiState {
  readonly version: 1;
  /** How many times the demo has run against this state. */
  runs: number;
  readonly shop: { readonly orders: ShopOrder[] };
  readonly accounting: {
    readonly invoices: AccountingInvoice[];
    /** Idempotency key → invoice id: a repeated create answers with the invoice made the first time. */
    readonly idempotency: Record<string, number>;
  };
}

/** The order whose trace the demo prints, and the one with an invalid currency. */
export const TRACED_ORDER = 1042;
export const INVALID_CURRENCY_ORDER = 1017;
export const FIRST_ORDERS = 60;

const CATALOG = [
  { sku: 'MUG-01', title: 'Enamel mug', price: '14.50' },
  { sku: 'TEE-02', title: 'Organic T-shirt', price: '24.90' },
  { sku: 'CAP-03', title: 'Canvas cap', price: '19.00' },
  { sku: 'BAG-04', title: 'Tote bag', price: '12.00' },
  { sku: 'NB-05', title: 'Dot-grid notebook', price: '9.80' },
  { sku: 'PEN-06', title: 'Brass pen', price: '32.00' },
] as const;
const NAMES = ['Ada Byron', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov', 'Donald Knuth', 'Frances Allen', 'Ken Thompson'];

/** A deterministic order: the same id gives the same customer, lines and currency. */
export function makeOrder(id: number, updatedAt: string): ShopOrder {
  const name = NAMES[id % NAMES.length]!;
  const lines = Array.from({ length: 1 + (id % 3) }, (_, i) => {
    const item = CATALOG[(id + i * 2) % CATALOG.length]!;
    return { sku: item.sku, title: item.title, quantity: 1 + ((id + i) % 2), unit_price: item.price };
  });
  return {
    id,
    number: `#${id}`,
    customer: { name, email: `${name.toLowerCase().replace(' ', '.')}@example.com` },
    // One order carries a currency the accounting system does not know: it is dead-lettered.
    currency: id === INVALID_CURRENCY_ORDER ? 'EURO' : id % 4 === 0 ? 'USD' : 'EUR',
    lines,
    placed_at: updatedAt,
    updated_at: updatedAt,
    invoice_number: null,
  };
}

/** The shop's first orders: ids 1001–1060, some sharing an `updated_at` (ties across page boundaries). */
function firstOrders(): ShopOrder[] {
  const start = Date.UTC(2026, 2, 2, 9, 0, 0);
  return Array.from({ length: FIRST_ORDERS }, (_, i) => makeOrder(1001 + i, new Date(start + Math.floor(i / 2) * 47_000).toISOString()));
}

/** Reads the state file, or starts a fresh shop and accounting system when there is none. */
export function loadState(path: string): ApiState {
  if (!existsSync(path)) return { version: 1, runs: 0, shop: { orders: firstOrders() }, accounting: { invoices: [], idempotency: {} } };
  const state = JSON.parse(readFileSync(path, 'utf8')) as ApiState;
  if (state.version !== 1) throw new Error(`${path} was written by another version of the demo; delete it (npm run demo -- --reset).`);
  return state;
}

/** Writes the state atomically (a temporary file renamed over the old one), so a killed demo leaves a whole file. */
export function saveState(path: string, state: ApiState): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 1));
  renameSync(temporary, path);
}

/** Orders placed since the last run: `count` new ones after the newest, updated now (or just after the newest). */
export function placeNewOrders(state: ApiState, count: number, now = Date.now()): number[] {
  const orders = state.shop.orders;
  let id = Math.max(...orders.map((o) => o.id));
  let at = Math.max(now, ...orders.map((o) => Date.parse(o.updated_at) + 1000));
  const placed: number[] = [];
  for (let i = 0; i < count; i++) {
    orders.push(makeOrder(++id, new Date(at).toISOString()));
    placed.push(id);
    at += 1000;
  }
  return placed;
}
