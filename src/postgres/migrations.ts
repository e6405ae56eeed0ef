/**
 * The schema, as a list of migrations: migration `n` (1-based) takes a schema from version `n - 1` to
 * `n`. Append new migrations, never edit a released one: databases in the field have run it.
 *
 * Conventions: ids and keys are `text` (those of dead letters, audit, kv and inbox escaped by
 * `encodeKey` where they hold U+0000 or a lone surrogate, ordinary ones as they are); everything a
 * caller passes as a value (cursors, entries, payloads, headers, bodies) is JSON text, so U+0000 and
 * lone surrogates survive (`jsonb` would decode the `\u0000` escape and be rejected); times are epoch
 * milliseconds from the injected clock in `double precision` columns (exact for integers up to 2^53);
 * counters are `bigint`.
 *
 * @internal
 */
export function migrations(s: string): readonly (readonly string[])[] {
  return [
    [
      `CREATE TABLE ${s}.leases (
        pipeline_id text PRIMARY KEY,
        owner text NOT NULL,
        token text NOT NULL,
        expires_at double precision NOT NULL
      )`,
      `CREATE TABLE ${s}.checkpoints (
        pipeline_id text PRIMARY KEY,
        cursor_json text NOT NULL,
        version bigint NOT NULL,
        updated_at double precision NOT NULL,
        run_id text NOT NULL
      )`,
      // seq is the listing order (first put); an upsert keeps it.
      `CREATE TABLE ${s}.dead_letters (
        pipeline_id text NOT NULL,
        id text NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        key text NOT NULL,
        entry_json text NOT NULL,
        PRIMARY KEY (pipeline_id, id)
      )`,
      `CREATE INDEX dead_letters_by_seq ON ${s}.dead_letters (pipeline_id, seq)`,
      `CREATE INDEX dead_letters_by_key ON ${s}.dead_letters (pipeline_id, key, seq)`,
      // detail_json holds the event minus the columns; id is the order written.
      `CREATE TABLE ${s}.audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at double precision NOT NULL,
        pipeline_id text NOT NULL,
        run_id text NOT NULL,
        type text NOT NULL,
        key text,
        detail_json text
      )`,
      // Key first, so "what happened to order 1042?" is an index lookup with or without the pipeline.
      `CREATE INDEX audit_by_key ON ${s}.audit (key, pipeline_id, id)`,
      `CREATE INDEX audit_by_run ON ${s}.audit (run_id, id)`,
      `CREATE INDEX audit_by_time ON ${s}.audit (at)`,
      // COLLATE "C": keys order by UTF-8 bytes, i.e. by code point, as every syncline store lists them.
      `CREATE TABLE ${s}.kv (
        namespace text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        value_json text NOT NULL,
        version bigint NOT NULL,
        expires_at double precision,
        PRIMARY KEY (namespace, key)
      )`,
      `CREATE INDEX kv_by_expiry ON ${s}.kv (expires_at) WHERE expires_at IS NOT NULL`,
      // One counter row per inbox: appends lock it, so seqs are handed out in commit order and a reader
      // that moved past seq n never misses a message committed later with a smaller seq.
      `CREATE TABLE ${s}.inbox_sequences (
        inbox text PRIMARY KEY,
        last_seq bigint NOT NULL
      )`,
      `CREATE TABLE ${s}.inbox (
        inbox text NOT NULL,
        seq bigint NOT NULL,
        id text NOT NULL,
        received_at double precision NOT NULL,
        headers_json text NOT NULL,
        body_json text NOT NULL,
        PRIMARY KEY (inbox, seq),
        UNIQUE (inbox, id)
      )`,
      // postgresSink: idempotency keys whose effect is committed, with the outcome to answer re-deliveries.
      `CREATE TABLE ${s}.applied (
        sink text NOT NULL,
        idempotency_key text NOT NULL,
        status text NOT NULL,
        detail_json text,
        applied_at double precision NOT NULL,
        run_id text NOT NULL,
        PRIMARY KEY (sink, idempotency_key)
      )`,
      `CREATE INDEX applied_by_time ON ${s}.applied (applied_at)`,
    ],
    [
      // Lease fencing epochs. A lease row now outlives its lease: release clears the token instead of
      // deleting the row, so the epoch it carries only grows, and acquireLease bumps it in the same upsert
      // that takes the row. Leases taken before this migration have epoch 0.
      `ALTER TABLE ${s}.leases ADD COLUMN epoch bigint NOT NULL DEFAULT 0`,
      `ALTER TABLE ${s}.leases ALTER COLUMN token DROP NOT NULL`,
      // postgresSink({ fence: true }): the highest lease epoch a sink has written with, per pipeline.
      `CREATE TABLE ${s}.sink_fences (
        sink text NOT NULL,
        pipeline_id text NOT NULL,
        epoch bigint NOT NULL,
        PRIMARY KEY (sink, pipeline_id)
      )`,
    ],
  ];
}

/** The schema version this code creates and understands. @internal */
export const SCHEMA_VERSION = 2;
