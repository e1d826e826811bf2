import { performance } from "node:perf_hooks";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Kysely } from "kysely";
import type { Config } from "../core/config.ts";
import type { Database } from "../core/db/tables.ts";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { deleteTracesStartedBefore, withRetentionLock } from "./store.ts";

/**
 * Trace retention: deletes traces older than `traces.retention.max_age_days`, so that the
 * table, which holds whole request and response bodies, stops growing once it covers the
 * configured window.
 *
 * Old rows go in batches of `batch_size`, one short statement each, with a turn of the event
 * loop between them: on SQLite the trace writer and the audit log share the one connection
 * and wait behind a delete for one batch at most; on PostgreSQL no transaction holds locks
 * on more than one batch of rows. Replicas sharing a PostgreSQL database take turns: a run
 * that finds another replica's run under way skips (see `withRetentionLock`).
 */
export interface PruneResult {
  /** Traces deleted by this run. */
  deleted: number;
  /** True when another replica was pruning (PostgreSQL) and this run left it to that one. */
  skipped?: boolean;
  /** DELETE statements issued. */
  batches: number;
  /** How long the run took. */
  ms: number;
}

export interface TracePruner {
  /** Prunes once shortly after the call, then every `interval_minutes`; never blocks. */
  start(): void;
  /**
   * Prunes now and resolves with what was deleted; rejects if the database does. A call
   * while a run is under way joins that run instead of starting another.
   */
  runOnce(): Promise<PruneResult>;
  /** Stops the schedule and waits for a running prune to stop at its next batch boundary. */
  close(): Promise<void>;
}

export interface TracePrunerOptions {
  db: Kysely<Database>;
  config: Config["traces"];
  logger: Logger;
  /** Called after every run that did not fail, one stopped by `close` too (for metrics). */
  onPruned?: ((result: PruneResult) => void) | undefined;
  /** Called for every scheduled run that failed (for metrics); it is retried next interval. */
  onFailed?: ((err: unknown) => void) | undefined;
  /** The clock the age of a trace is measured against; injected by tests. */
  now?: (() => number) | undefined;
}

const DAY_MS = 86_400_000;

/** The first run waits this long after `start`, so that it does not compete with start-up. */
const FIRST_RUN_DELAY_MS = 1_000;

const NOTHING: PruneResult = { deleted: 0, batches: 0, ms: 0 };

export function createTracePruner(options: TracePrunerOptions): TracePruner {
  const { db } = options;
  const { max_age_days: maxAgeDays, batch_size: batchSize } = options.config.retention;
  const intervalMs = options.config.retention.interval_minutes * 60_000;
  const now = options.now ?? Date.now;
  const logger = options.logger.child({ component: "trace-retention" });

  let running: Promise<PruneResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Failed runs in a row: only the first of a streak is logged as a warning. */
  let failures = 0;

  /**
   * One run: full batches until a short one shows that nothing old is left. It also stops at
   * a batch boundary when the pruner closes, and after one interval's worth of time, so that
   * a large backlog is worked off over several runs instead of holding one open for hours.
   */
  function prune(cutoff: number): Promise<PruneResult> {
    return withRetentionLock(db, (held) => {
      if (held) return pruneBatches(cutoff);
      const result = { ...NOTHING, skipped: true };
      options.onPruned?.(result);
      return Promise.resolve(result);
    });
  }

  async function pruneBatches(cutoff: number): Promise<PruneResult> {
    const started = performance.now();
    let deleted = 0;
    let batches = 0;
    let caughtUp = false;
    while (!closed && performance.now() - started < intervalMs) {
      const count = await deleteTracesStartedBefore(db, cutoff, batchSize);
      deleted += count;
      batches += 1;
      if (count < batchSize) {
        caughtUp = true;
        break;
      }
      await yieldToEventLoop();
    }
    const result = { deleted, batches, ms: Math.round(performance.now() - started) };
    if (deleted > 0) {
      logger.info(
        { ...result, max_age_days: maxAgeDays, caught_up: caughtUp },
        "old traces deleted",
      );
    }
    options.onPruned?.(result);
    return result;
  }

  function runOnce(): Promise<PruneResult> {
    if (running !== undefined) return running;
    if (closed || maxAgeDays === null) return Promise.resolve({ ...NOTHING });
    const run = prune(now() - maxAgeDays * DAY_MS).finally(() => {
      running = undefined;
    });
    running = run;
    return run;
  }

  /** A scheduled run: failures are logged and retried at the next interval, never thrown. */
  async function tick(): Promise<void> {
    timer = undefined;
    try {
      await runOnce();
      if (failures > 0) logger.info({ failed_runs: failures }, "trace retention recovered");
      failures = 0;
    } catch (err) {
      failures += 1;
      options.onFailed?.(err);
      if (failures === 1) {
        logger.warn(
          { err: errorMessage(err), retry_in_minutes: intervalMs / 60_000 },
          "trace retention failed: old traces are kept until a later run succeeds",
        );
      }
    }
    schedule(intervalMs);
  }

  function schedule(delayMs: number): void {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => void tick(), delayMs);
    timer.unref();
  }

  return {
    start() {
      if (maxAgeDays === null) return;
      schedule(FIRST_RUN_DELAY_MS);
    },
    runOnce,
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      // The run's own failure was already reported to whoever awaited it.
      await running?.catch(() => undefined);
    },
  };
}
