import type { Logger } from "../core/logger.ts";
import { auditActionSchema, auditOutcomeSchema, type AuditEvent } from "./schema.ts";
import type { AuditService } from "./service.ts";

/**
 * The batched appender for the hot path (model invocations): `enqueue` stamps an event that
 * has no `at` with the current time and returns at once; a background flush appends queued
 * events in batches, one transaction each. The queue is bounded: when it is full an event is
 * dropped and counted, and the next batch starts with an `audit.dropped` entry saying how
 * many, so a loss shows in the log itself. A failed batch goes back to the front of the queue
 * and is retried. `close()` flushes what is left.
 */
export interface AuditQueue {
  /**
   * Never blocks and never throws. The event is kept as given until it is written (copied
   * only to stamp a missing `at`), so the caller must not change it afterwards.
   */
  enqueue(event: AuditEvent): void;
  /** Resolves when everything queued before the call has been written (or failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): AuditQueueStats;
}

export interface AuditQueueStats {
  queued: number;
  written: number;
  /** Dropped because the queue was full or closed, not yet recorded by an `audit.dropped`. */
  dropped: number;
  /** Invalid events refused at enqueue (a bug in the caller; logged). */
  rejected: number;
  failed_batches: number;
}

export interface AuditQueueOptions {
  service: Pick<AuditService, "appendChecked">;
  logger: Logger;
  maxQueue?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  now?: () => number;
}

export const DROPPED_ACTION = "audit.dropped";

export function createAuditQueue(options: AuditQueueOptions): AuditQueue {
  const { service, logger } = options;
  const maxQueue = options.maxQueue ?? 10_000;
  const batchSize = options.batchSize ?? 200;
  const checker = createEventChecker();
  const interval = options.flushIntervalMs ?? 250;
  const now = options.now ?? Date.now;

  const queue: AuditEvent[] = [];
  const stats = { written: 0, dropped: 0, rejected: 0, failed_batches: 0 };
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let closed = false;

  const schedule = (): void => {
    if (timer !== undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, interval);
    timer.unref();
  };

  const drop = (why: string): void => {
    if (stats.dropped === 0) logger.error({ max_queue: maxQueue }, `audit entry dropped: ${why}`);
    stats.dropped++;
  };

  const drain = async (): Promise<void> => {
    let rounds = Math.ceil(queue.length / batchSize) + 1;
    while ((queue.length > 0 || stats.dropped > 0) && rounds-- > 0) {
      const batch = queue.splice(0, batchSize);
      const dropped = stats.dropped;
      stats.dropped = 0;
      const events: AuditEvent[] =
        dropped > 0
          ? [
              { action: DROPPED_ACTION, outcome: "error", details: { count: dropped }, at: now() },
              ...batch,
            ]
          : batch;
      try {
        await service.appendChecked(events);
        stats.written += batch.length;
      } catch (err) {
        stats.failed_batches++;
        const room = Math.max(0, maxQueue - queue.length);
        queue.unshift(...batch.slice(0, room));
        stats.dropped += dropped + Math.max(0, batch.length - room);
        logger.error({ err, entries: batch.length }, "audit batch failed; will retry");
        break;
      }
    }
    if (queue.length > 0 || stats.dropped > 0) schedule();
  };

  const flush = async (): Promise<void> => {
    while (inFlight !== undefined) await inFlight;
    if (queue.length === 0 && stats.dropped === 0) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    inFlight = drain().finally(() => {
      inFlight = undefined;
    });
    await inFlight;
  };

  return {
    enqueue(event) {
      if (closed) return drop("the audit queue is closed");
      const problem = checker(event);
      if (problem !== undefined) {
        stats.rejected++;
        logger.error({ action: String(event.action), problem }, "invalid audit event");
        return;
      }
      if (queue.length >= maxQueue) return drop("the audit queue is full");
      queue.push(event.at === undefined ? { ...event, at: now() } : event);
      if (queue.length >= batchSize && inFlight === undefined) void flush();
      else schedule();
    },
    flush,
    close: async () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await flush();
      if (queue.length > 0 || stats.dropped > 0) {
        logger.error(
          { queued: queue.length, dropped: stats.dropped },
          "audit entries could not be written before shutdown",
        );
      }
    },
    stats: () => ({ queued: queue.length, ...stats }),
  };
}

const OUTCOMES: ReadonlySet<unknown> = new Set(auditOutcomeSchema.options);
const TEXT_FIELDS = [
  "actor_key_id",
  "project_id",
  "ip",
  "user_agent",
  "resource_type",
  "resource_id",
] as const;
/** Distinct valid actions remembered; a producer uses a handful. */
const MAX_KNOWN_ACTIONS = 1_000;

/**
 * The checks of `auditEventSchema`, cheap enough for every request: events come from Keel's
 * own typed hook, so the shape is checked field by field and an action is parsed by the schema
 * once, then remembered. Returns what is wrong, or undefined. The service still bounds,
 * cleans and redacts every field before it is hashed.
 */
export function createEventChecker(): (event: AuditEvent) => string | undefined {
  const knownActions = new Set<string>();
  return (event) => {
    const { action } = event;
    if (!knownActions.has(action)) {
      if (!auditActionSchema.safeParse(action).success) return "action is not a dotted name";
      if (knownActions.size < MAX_KNOWN_ACTIONS) knownActions.add(action);
    }
    if (!OUTCOMES.has(event.outcome)) return "outcome is not success, denied or error";
    for (const field of TEXT_FIELDS) {
      const value = event[field];
      if (value !== undefined && value !== null && typeof value !== "string") {
        return `${field} is not text`;
      }
    }
    const status = event.status_code;
    if (
      status !== undefined &&
      status !== null &&
      !(Number.isSafeInteger(status) && status >= 100 && status <= 599)
    ) {
      return "status_code is not an HTTP status";
    }
    const { details, at } = event;
    if (
      details !== undefined &&
      (details === null || typeof details !== "object" || Array.isArray(details))
    ) {
      return "details is not an object";
    }
    if (at !== undefined && !(Number.isSafeInteger(at) && at >= 0)) {
      return "at is not epoch milliseconds";
    }
    return undefined;
  };
}
