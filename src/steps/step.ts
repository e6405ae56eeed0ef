import type { z } from 'zod';

/** What a batch-level step (`enrich`) receives besides the records. */
export interface StepContext {
  readonly pipelineId: string;
  readonly runId: string;
  readonly signal: AbortSignal;
}

/** A record inside the pipeline, between source and sink. */
export interface PipelineRecord<T> {
  readonly key: string;
  readonly data: T;
}

/** Options every step takes. */
export interface StepOptions {
  /** Names the step in dead letters, audit rows and errors. @default the step kind and its position, e.g. `map#2` */
  readonly name?: string;
}

/** Options of `filter`. */
export interface FilterOptions<T> extends StepOptions {
  /** The skip reason recorded for records the predicate rejects. @default `filtered by <step name>` */
  readonly reason?: string | ((data: T, key: string) => string);
}

/** Options of `flatMap`. */
export interface FlatMapOptions<U> extends StepOptions {
  /**
   * Key of each derived record; must be unique within the batch and stable across runs.
   * @default `<parent key>#<index>`
   */
  readonly key?: (item: U, index: number, parentKey: string) => string;
}

/** Options of `validate`. */
export interface ValidateOptions extends StepOptions {
  /**
   * Use zod's ahead-of-time compiled fast path (`z.compile`). It falls back to the regular parser for
   * invalid input and for schemas it cannot compile, so the issues reported are identical.
   * @default true
   */
  readonly compile?: boolean;
}

/** @internal The steps the builder records; executed by `applySteps`. */
export type StepDefinition =
  | { readonly kind: 'map'; readonly name: string; readonly fn: (data: unknown, key: string) => unknown }
  | {
      readonly kind: 'filter';
      readonly name: string;
      readonly fn: (data: unknown, key: string) => unknown;
      readonly reason: string | ((data: unknown, key: string) => string);
    }
  | {
      readonly kind: 'flatMap';
      readonly name: string;
      readonly fn: (data: unknown, key: string) => Iterable<unknown> | Promise<Iterable<unknown>>;
      readonly key: (item: unknown, index: number, parentKey: string) => string;
    }
  | { readonly kind: 'validate'; readonly name: string; readonly schema: z.ZodType }
  | {
      readonly kind: 'enrich';
      readonly name: string;
      readonly fn: (records: readonly PipelineRecord<unknown>[], ctx: StepContext) => Promise<readonly unknown[]>;
    };
