import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import type { Database } from "../core/db/tables.ts";
import { createLogger } from "../core/logger.ts";
import { createMetrics, type Metrics } from "../monitoring/index.ts";
import { openSqliteTestDatabase, type TestDatabase } from "../../test/helpers/engines.ts";
import { traceRecord } from "../../test/fixtures/trace-records.ts";
import { createTraceWriter, type TraceWriter } from "./writer.ts";

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

interface Harness {
  writer: TraceWriter;
  metrics: Metrics;
  logs: { level: number; msg: string; reason?: string }[];
}

function start(
  db: Kysely<Database>,
  config: {
    queue_size?: number;
    batch_size?: number;
    flush_interval_ms?: number;
    bodies?: "full" | "metadata";
  } = {},
): Harness {
  const logs: Harness["logs"] = [];
  const logger = createLogger("info", {
    write: (line: string) => void logs.push(JSON.parse(line) as Harness["logs"][number]),
  });
  const metrics = createMetrics();
  const writer = createTraceWriter({
    db,
    metrics,
    logger,
    config: {
      bodies: config.bodies ?? "full",
      encrypt: false,
      queue_size: config.queue_size ?? 1_000,
      batch_size: config.batch_size ?? 100,
      // Long unless a test is about the interval: batches are then driven by size and flush().
      flush_interval_ms: config.flush_interval_ms ?? 60_000,
      retention: { max_age_days: null, interval_minutes: 10, batch_size: 1_000 },
    },
  });
  return { writer, metrics, logs };
}

async function count(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("traces")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function counter(metric: Metrics["traceDropped"] | Metrics["traceWritten"], reason?: string) {
  const { values } = await metric.get();
  const value = values.find((v) => reason === undefined || v.labels.reason === reason);
  return value?.value ?? 0;
}

/** Polls until `check` holds, for at most two seconds. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe("trace writer", () => {
  let database: TestDatabase;
  let open: Harness[] = [];

  beforeEach(async () => {
    database = await openSqliteTestDatabase();
  });
  afterEach(async () => {
    for (const h of open) await h.writer.close();
    open = [];
    await database.dispose();
  });

  function writer(config: Parameters<typeof start>[1] = {}): Harness {
    const h = start(database.db, config);
    open.push(h);
    return h;
  }

  test("writes a batch as soon as it fills, without waiting for the interval", async () => {
    const { writer: w, metrics } = writer({ batch_size: 3 });
    for (let i = 0; i < 4; i++) w.enqueue(traceRecord(T0 + i));
    await eventually(async () => (await count(database.db)) === 3, "the full batch is written");
    // The fourth trace waits for the next batch or a flush.
    await sleep(30);
    assert.equal(await count(database.db), 3);
    assert.equal(w.depth(), 1);
    await w.flush();
    assert.equal(await count(database.db), 4);
    assert.equal(await counter(metrics.traceWritten), 4);
    assert.equal((await metrics.traceQueueDepth.get()).values[0]?.value, 0);
  });

  test("writes a partial batch every flush interval", async () => {
    const { writer: w } = writer({ batch_size: 100, flush_interval_ms: 20 });
    w.enqueue(traceRecord(T0));
    w.enqueue(traceRecord(T0 + 1));
    await eventually(async () => (await count(database.db)) === 2, "the interval flush ran");
    assert.equal(w.depth(), 0);
  });

  test("enqueue returns at once and never writes on the caller's turn", async () => {
    const { writer: w } = writer({ batch_size: 1 });
    w.enqueue(traceRecord(T0));
    assert.equal(w.depth(), 1);
    assert.equal(await count(database.db), 0);
    await w.flush();
    assert.equal(await count(database.db), 1);
  });

  test("a full queue drops the new trace, counts it and warns once", async () => {
    const { writer: w, metrics, logs } = writer({ queue_size: 2 });
    for (let i = 0; i < 5; i++) w.enqueue(traceRecord(T0 + i));
    assert.equal(w.depth(), 2);
    assert.equal(await counter(metrics.traceDropped, "queue_full"), 3);
    const warnings = logs.filter((l) => l.reason === "queue_full");
    assert.equal(warnings.length, 1, "one warning for a burst of drops");
    assert.match(warnings[0]!.msg, /queue is full/);
    await w.flush();
    assert.equal(await count(database.db), 2);
  });

  test("a batch is one transaction: a bad row drops its batch, and writing goes on", async () => {
    const { writer: w, metrics, logs } = writer({ batch_size: 3 });
    const first = traceRecord(T0);
    w.enqueue(first);
    w.enqueue(traceRecord(T0 + 1));
    w.enqueue({ ...traceRecord(T0 + 2), id: first.id }); // duplicate primary key
    await w.flush();
    assert.equal(await count(database.db), 0, "none of the failed batch is written");
    assert.equal(await counter(metrics.traceDropped, "write_failed"), 3);
    assert.ok(logs.some((l) => l.reason === "write_failed" && l.level === 40));

    w.enqueue(traceRecord(T0 + 3));
    await w.flush();
    assert.equal(await count(database.db), 1);
  });

  test("a database that is gone costs the traces, not the server", async () => {
    const gone = await openSqliteTestDatabase();
    const { writer: w, metrics } = start(gone.db);
    await gone.dispose();
    w.enqueue(traceRecord(T0));
    w.enqueue(traceRecord(T0 + 1));
    await w.flush();
    assert.equal(await counter(metrics.traceDropped, "write_failed"), 2);
    assert.equal(w.depth(), 0);
    await w.close();
  });

  test("close writes what is queued; traces after close are dropped with a log line", async () => {
    const { writer: w, metrics, logs } = writer({ batch_size: 50 });
    for (let i = 0; i < 7; i++) w.enqueue(traceRecord(T0 + i));
    await w.close();
    assert.equal(await count(database.db), 7);
    w.enqueue(traceRecord(T0 + 10));
    assert.equal(await counter(metrics.traceDropped, "closed"), 1);
    assert.ok(logs.some((l) => l.reason === "closed" && /closed/.test(l.msg)));
    await w.close();
    assert.equal(await count(database.db), 7);
  });

  test("stores booleans as 0/1, JSON as text, and bodies only when configured", async () => {
    const full = writer();
    full.writer.enqueue(traceRecord(T0, { stream: true, tokens_estimated: true }));
    await full.writer.flush();
    const metadataOnly = writer({ bodies: "metadata" });
    metadataOnly.writer.enqueue(traceRecord(T0 + 1));
    await metadataOnly.writer.flush();

    const rows = await database.db.selectFrom("traces").selectAll().orderBy("id").execute();
    assert.equal(rows.length, 2);
    const [withBodies, withoutBodies] = rows;
    assert.equal(withBodies!.stream, 1);
    assert.equal(withBodies!.tokens_estimated, 1);
    assert.equal(withBodies!.latency_ms, 120);
    assert.deepEqual(JSON.parse(withBodies!.request_body!), traceRecord(T0).request_body);
    assert.equal(JSON.parse(withBodies!.attempts).length, 1);
    assert.deepEqual(JSON.parse(withBodies!.metadata), { user_agent: "test" });
    assert.equal(withoutBodies!.stream, 0);
    assert.equal(withoutBodies!.request_body, null);
    assert.equal(withoutBodies!.response_body, null);
  });
});
