import { errorMessage } from "../core/errors.ts";
import type { Kysely } from "kysely";
import type { Config } from "../core/config.ts";
import type { Database, TracesTable } from "../core/db/tables.ts";
import type { Keyring } from "../core/keyring.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../monitoring/index.ts";
import type { TraceSink } from "./schema.ts";
import { insertTraces } from "./store.ts";
import { toStoredRow } from "./body-encryption.ts";

/**
 * Writes traces off the request path. `enqueue` turns the trace into its row (JSON text, bodies
 * sealed when encryption is on) and appends it to a bounded in-memory queue: the queue then
 * holds strings rather than the request's object graph, which would otherwise outlive a
 * garbage-collection cycle or two and be promoted and marked for nothing. Batches of
 * `batch_size` are written, each in one transaction, as soon as one fills and, for whatever is
 * queued, every `flush_interval_ms`. A full queue drops the new trace and a failed write drops
 * its batch: both are counted and logged, and serving carries on.
 */
export interface TraceWriter extends TraceSink {
  /** Resolves once every trace enqueued before the call has been written (or dropped). */
  flush(): Promise<void>;
  /** Final flush; stops the timer. Traces enqueued afterwards are dropped with a log line. */
  close(): Promise<void>;
  /** Traces accepted and not yet written: queued plus the batch being written. */
  depth(): number;
}

export interface TraceWriterOptions {
  db: Kysely<Database>;
  metrics: Metrics;
  logger: Logger;
  config: Config["traces"];
  /** Seals bodies when `config.encrypt` is on. */
  keyring?: Keyring | undefined;
}

/** At most one warning per reason in this window; the rest are counted into the next one. */
const WARN_EVERY_MS = 5_000;

export function createTraceWriter(options: TraceWriterOptions): TraceWriter {
  const { db, metrics, config } = options;
  const logger = options.logger.child({ component: "trace-writer" });
  /** Rows ready to insert: serialized at enqueue, so the request's objects die young. */
  const queue: TracesTable[] = [];
  let inFlight = 0;
  /** Traces accepted into the queue so far, and how many of them have left it for good. */
  let accepted = 0;
  let settled = 0;
  /** Everything accepted up to here is written even if it does not fill a batch. */
  let flushTarget = 0;
  let draining = false;
  let closed = false;
  let closing: Promise<void> | undefined;
  const waiters: { target: number; resolve: () => void }[] = [];
  const warnings = new Map<string, { at: number; suppressed: number }>();

  const depth = (): number => queue.length + inFlight;
  const updateDepth = (): void => metrics.traceQueueDepth.set(depth());

  /** Logs a warning for `reason` unless one was logged in the last few seconds. */
  function warn(reason: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = warnings.get(reason);
    if (last !== undefined && now - last.at < WARN_EVERY_MS) {
      last.suppressed += 1;
      return;
    }
    logger.warn({ ...fields, reason, suppressed: last?.suppressed ?? 0 }, message);
    warnings.set(reason, { at: now, suppressed: 0 });
  }

  function drop(reason: "queue_full" | "write_failed" | "closed", count: number): void {
    if (count > 0) metrics.traceDropped.inc({ reason }, count);
  }

  function schedule(): void {
    if (draining) return;
    draining = true;
    // Never write inside enqueue: the caller is serving a request.
    setImmediate(() => void drain());
  }

  async function drain(): Promise<void> {
    try {
      while (queue.length >= config.batch_size || (queue.length > 0 && settled < flushTarget)) {
        const batch = queue.splice(0, config.batch_size);
        inFlight = batch.length;
        await write(batch);
        inFlight = 0;
        settled += batch.length;
        updateDepth();
        release();
      }
    } finally {
      draining = false;
    }
  }

  /** Writes one batch in one transaction. Never throws. */
  async function write(rows: TracesTable[]): Promise<void> {
    try {
      await insertTraces(db, rows);
      metrics.traceWritten.inc(rows.length);
    } catch (err) {
      drop("write_failed", rows.length);
      warn(
        "write_failed",
        { count: rows.length, err: errorMessage(err) },
        "trace batch dropped: write failed",
      );
    }
  }

  function release(): void {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (settled >= waiter.target) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  function flush(): Promise<void> {
    flushTarget = accepted;
    if (settled >= accepted) return Promise.resolve();
    const done = new Promise<void>((resolve) => waiters.push({ target: accepted, resolve }));
    schedule();
    return done;
  }

  const timer = setInterval(() => {
    if (queue.length === 0) return;
    flushTarget = accepted;
    schedule();
  }, config.flush_interval_ms);
  timer.unref();

  return {
    enqueue(trace) {
      if (closed) {
        drop("closed", 1);
        warn("closed", { trace_id: trace.id }, "trace dropped: the trace writer is closed");
        return;
      }
      if (depth() >= config.queue_size) {
        drop("queue_full", 1);
        warn(
          "queue_full",
          { queue_size: config.queue_size },
          "trace dropped: the write queue is full (raise traces.queue_size or check the database)",
        );
        return;
      }
      let row: TracesTable;
      try {
        row = toStoredRow(trace, config, options.keyring);
      } catch (err) {
        drop("write_failed", 1);
        warn(
          "unserializable",
          { trace_id: trace.id, err: errorMessage(err) },
          "trace dropped: cannot serialize it",
        );
        return;
      }
      queue.push(row);
      accepted += 1;
      updateDepth();
      if (queue.length >= config.batch_size) schedule();
    },
    flush,
    close() {
      closed = true;
      clearInterval(timer);
      return (closing ??= flush());
    },
    depth,
  };
}
