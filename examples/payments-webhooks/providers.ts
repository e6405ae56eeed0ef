/**
 * Two simulated payment providers. Like real ones, they sign every attempt anew and retry a delivery with
 * back-off until it is answered 2xx — the behaviour the intake's "persist before 2xx" relies on.
 *
 * - Acme Pay signs with Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
 * - Stripe-style signs with `Stripe-Signature: t=…,v1=…`; the event id is in the body.
 */
import { signStandardWebhook, signStripeWebhook } from 'syncline/webhooks';

/** An Acme Pay event, as Acme sends it. */
export interface AcmeEvent {
  readonly type: 'payment.succeeded' | 'payment.refunded';
  readonly timestamp: string;
  readonly data: { readonly payment_id: string; readonly amount_minor: number; readonly currency: 'EUR' | 'USD'; readonly customer: string };
}

/** A Stripe-style event, as the Stripe-style provider sends it. */
export interface StripeStyleEvent {
  readonly id: string;
  readonly object: 'event';
  readonly type: 'payment_intent.succeeded';
  readonly created: number;
  readonly data: { readonly object: { readonly id: string; readonly amount?: number; readonly currency: 'eur' | 'usd'; readonly metadata: { readonly order_id: string } } };
}

/** One delivery's fate, for the summary. */
export interface DeliveryResult {
  readonly status: number;
  readonly attempts: number;
}

/** How a simulated provider retries. */
export interface RetryOptions {
  /** @default 10 */
  readonly attempts?: number;
  /** @default 5 */
  readonly baseDelayMs?: number;
  /** Told about each attempt that got no 2xx answer or no answer at all. */
  readonly onFailedAttempt?: (status: number) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Posts until a 2xx, or a 4xx that retrying cannot fix (a 401/400/413: the provider records the failure);
 * 5xx answers and connection errors are retried with exponential back-off, re-signed each time.
 */
async function deliver(url: () => string, sign: () => Record<string, string>, body: string, options: RetryOptions = {}): Promise<DeliveryResult> {
  const attempts = options.attempts ?? 10;
  // Real providers wait minutes to hours between attempts; the simulation keeps the shape, not the scale.
  const base = options.baseDelayMs ?? 5;
  let status = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json', ...sign() }, body });
      await response.arrayBuffer();
      status = response.status;
      if (status < 500) return { status, attempts: attempt };
    } catch {
      status = 0; // connection refused or reset: the endpoint is down
    }
    options.onFailedAttempt?.(status);
    if (attempt < attempts) await sleep(Math.min(base * 2 ** (attempt - 1), 80));
  }
  return { status, attempts };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Acme Pay: Standard Webhooks. `id` is the `webhook-id`; a redelivery reuses it. */
export function acmeProvider(secret: string, url: () => string, retry?: RetryOptions) {
  return {
    send(id: string, event: AcmeEvent): Promise<DeliveryResult> {
      const body = JSON.stringify(event);
      return deliver(
        url,
        () => {
          const timestamp = nowSeconds();
          return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(secret, id, timestamp, body), 'user-agent': 'AcmePay-Webhooks/2.1' };
        },
        body,
        retry,
      );
    },
  };
}

/** The Stripe-style provider: `Stripe-Signature`; the event id travels in the body. */
export function stripeStyleProvider(secret: string, url: () => string, retry?: RetryOptions) {
  return {
    send(event: StripeStyleEvent): Promise<DeliveryResult> {
      const body = JSON.stringify(event);
      return deliver(url, () => ({ 'stripe-signature': signStripeWebhook(secret, nowSeconds(), body), 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' }), body, retry);
    },
  };
}
