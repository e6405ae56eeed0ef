import { z } from 'zod';
import { clockSchema } from '../internal/options.js';
import { systemClock, type Clock } from '../time/clock.js';
import { RETRY_AFTER_FORMS, type RetryAfterForm } from './retry-after-value.js';

// The types and options of faultServer(); the server itself is in fault-server.ts.

/** A 5xx a {@link Fault} of kind `server-error` answers with. */
export type ServerErrorStatus = 500 | 502 | 503 | 504;

/**
 * One fault the server injects instead of (or on top of) the handler's answer.
 *
 * | kind | what the client gets | the handler ran? |
 * | --- | --- | --- |
 * | `rate-limit` | 429 with `Retry-After` in the given form (default `seconds`, 1 s) | no |
 * | `server-error` | the status (default 503) with a JSON error body | no |
 * | `reset` | the TCP connection reset (RST) after the request was read | only with `afterHandler` |
 * | `hang` | nothing, until the client gives up or `maxHangMs` passes | only with `afterHandler` |
 * | `truncated` | the handler's status and headers, then half its body, then the connection closed | yes |
 * | `html` | 200 with an HTML page (a proxy's maintenance page) instead of JSON | no |
 *
 * When the handler ran, its effect happened although the client saw a failure: a retry must be
 * deduplicated by the idempotency key.
 */
export type Fault =
  | { readonly kind: 'rate-limit'; readonly retryAfter?: RetryAfterForm; readonly seconds?: number }
  | { readonly kind: 'server-error'; readonly status?: ServerErrorStatus }
  | { readonly kind: 'reset'; readonly afterHandler?: boolean }
  | { readonly kind: 'hang'; readonly afterHandler?: boolean }
  | { readonly kind: 'truncated' }
  | { readonly kind: 'html' };

/** What the log records as a request's fault: a {@link Fault}'s kind, or `expired-token` (a 401). */
export type FaultKind = Fault['kind'] | 'expired-token';

/** The request as a script or `when` filter sees it, before anything is answered. */
export interface FaultRequestInfo {
  /** 1-based arrival number. */
  readonly n: number;
  readonly method: string;
  /** Path and query, e.g. `/invoices?dry=1`. */
  readonly path: string;
  readonly headers: Headers;
  /** The value of the idempotency header, when sent. */
  readonly idempotencyKey: string | undefined;
}

/** Answers a request that gets no fault (and, for some faults, one whose answer is then spoiled). */
export type FaultHandler = (request: Request, info: FaultRequestInfo) => Response | Promise<Response>;

/** Faults drawn at random, repeatably: the same seed gives the same fault for the same arrival number. */
export interface SeededFaults {
  /** Seed of the pseudo-random sequence. */
  readonly seed: number;
  /**
   * Probability per request of each fault kind, from 0 to 1; their sum must not exceed 1. A
   * `server-error` starts a burst (see `maxBurst`), so its share of requests is higher than its rate.
   */
  readonly rates: { readonly [K in Fault['kind']]?: number };
  /** `Retry-After` forms the 429s use, picked at random. @default every {@link RetryAfterForm} */
  readonly retryAfter?: readonly RetryAfterForm[];
  /** The wait the 429s ask for, in seconds. @default 1 */
  readonly retryAfterSeconds?: number;
  /** Statuses the server errors use, picked at random. @default [500, 502, 503, 504] */
  readonly statuses?: readonly ServerErrorStatus[];
  /** A server error lasts for 1 to this many consecutive eligible requests (a burst). @default 1 */
  readonly maxBurst?: number;
  /** Probability that a `reset` or `hang` happens after the handler ran (its effect applied). @default 0.5 */
  readonly afterHandler?: number;
  /** Which requests may get a seeded fault. @default every request */
  readonly when?: (request: FaultRequestInfo) => boolean;
}

/** Options of {@link faultServer}. Only `handler` is required. */
export interface FaultServerOptions {
  /** Answers the requests (a Fetch-style handler: `Request` in, `Response` out). */
  readonly handler: FaultHandler;
  /**
   * Faults by arrival number: entry `i` is the fault of request `i + 1` (`null` or `undefined`: none),
   * or a function that picks one per request. Where both are set, the script wins over `seeded`.
   * @default undefined (no scripted faults)
   */
  readonly script?: readonly (Fault | null | undefined)[] | ((request: FaultRequestInfo) => Fault | null | undefined);
  /** Random faults at given rates, from a seed. @default undefined (no random faults) */
  readonly seeded?: SeededFaults;
  /**
   * Bearer tokens answered with 401 `invalid_token` before anything else; add more with
   * {@link FaultServer.expireToken}.
   * @default []
   */
  readonly expiredTokens?: readonly string[];
  /** A hung request is cut (its socket destroyed) after this many ms, if the client has not given up first. @default 10_000 */
  readonly maxHangMs?: number;
  /** The header that carries the idempotency key, logged with every request. @default 'idempotency-key' */
  readonly idempotencyHeader?: string;
  /**
   * Request headers copied into the log (lower-case names). Never list `authorization` unless a test
   * needs the credential itself: the log is kept in memory and printed on failures.
   * @default []
   */
  readonly logHeaders?: readonly string[];
  /** The time `Retry-After` dates are computed from. (Log times are always real: they measure real traffic.) @default systemClock */
  readonly clock?: Clock;
}

/** One request as the server saw it and what it did with it. */
export interface FaultServerRequest {
  /** 1-based arrival number. */
  readonly n: number;
  /** When the request's head arrived, in epoch ms with sub-millisecond precision. */
  readonly at: number;
  /** When the exchange ended (answer sent or connection closed), epoch ms; `undefined` while it is open. */
  readonly endedAt: number | undefined;
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  /** The headers named in `logHeaders`. */
  readonly headers: Readonly<Record<string, string>>;
  /** The fault injected, or `undefined` when the handler's answer went out intact. */
  readonly fault: FaultKind | undefined;
  /** Whether the handler ran (its effect happened), whatever the client then got. */
  readonly handled: boolean;
  /** The status sent; `undefined` for a reset, a hang, or a request still in progress. */
  readonly status: number | undefined;
  /** The `Retry-After` value sent with a 429 fault. */
  readonly retryAfter: string | undefined;
  /** The handler's error (answered with 500), or why a scripted fault was refused. */
  readonly error: string | undefined;
}

/** A running {@link faultServer}. */
export interface FaultServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Every request so far, in arrival order; entries fill in as exchanges end. */
  readonly log: readonly FaultServerRequest[];
  /** Faults injected so far, by kind. */
  faultCounts(): Readonly<Record<FaultKind, number>>;
  /** From now on, requests with `Authorization: Bearer <token>` get a 401 `invalid_token`. */
  expireToken(token: string): void;
  /** Stops the server: open and hung connections are cut, pending hang timers cleared. */
  close(): Promise<void>;
}

export const FAULT_KINDS = ['rate-limit', 'server-error', 'reset', 'hang', 'truncated', 'html'] as const;
const STATUSES = [500, 502, 503, 504] as const;
const MAX_TIMER_MS = 2 ** 31 - 1;
const isFunction = (value: unknown): boolean => typeof value === 'function';

const retryAfterForm = z.enum(RETRY_AFTER_FORMS as unknown as [RetryAfterForm, ...RetryAfterForm[]]);
const statusSchema = z.union(STATUSES.map((status) => z.literal(status)) as unknown as [z.ZodLiteral<ServerErrorStatus>, z.ZodLiteral<ServerErrorStatus>]);
export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('rate-limit'), retryAfter: retryAfterForm.optional(), seconds: z.number().min(0).max(1e9).optional() }),
  z.strictObject({ kind: z.literal('server-error'), status: statusSchema.optional() }),
  z.strictObject({ kind: z.literal('reset'), afterHandler: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('hang'), afterHandler: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('truncated') }),
  z.strictObject({ kind: z.literal('html') }),
]);
const rate = z.number().min(0).max(1).optional();

export const optionsSchema = z.strictObject({
  handler: z.custom<FaultHandler>(isFunction, { error: 'Invalid input: expected a function (request: Request, info) => Response' }),
  script: z
    .union([
      z.array(faultSchema.nullable().optional()),
      z.custom<(request: FaultRequestInfo) => Fault | null | undefined>(isFunction, { error: 'Invalid input: expected an array of faults or a function' }),
    ])
    .optional(),
  seeded: z
    .strictObject({
      seed: z.int(),
      rates: z
        .strictObject({ 'rate-limit': rate, 'server-error': rate, reset: rate, hang: rate, truncated: rate, html: rate })
        .refine((rates) => Object.values(rates).reduce<number>((sum, value) => sum + (value ?? 0), 0) <= 1 + 1e-9, {
          error: 'Invalid input: expected the rates to add up to at most 1',
        }),
      retryAfter: z.array(retryAfterForm).min(1).default([...RETRY_AFTER_FORMS]),
      retryAfterSeconds: z.number().min(0).max(1e6).default(1),
      statuses: z.array(statusSchema).min(1).default([...STATUSES]),
      maxBurst: z.int().min(1).max(1000).default(1),
      afterHandler: z.number().min(0).max(1).default(0.5),
      when: z.custom<(request: FaultRequestInfo) => boolean>(isFunction, { error: 'Invalid input: expected a function (request) => boolean' }).optional(),
    })
    .optional(),
  expiredTokens: z.array(z.string().min(1)).default([]),
  maxHangMs: z.int().min(1).max(MAX_TIMER_MS).default(10_000),
  idempotencyHeader: z.string().min(1).default('idempotency-key'),
  logHeaders: z.array(z.string().min(1)).default([]),
  clock: clockSchema.default(() => systemClock),
});

/** @internal */
export type ParsedOptions = z.output<typeof optionsSchema>;
