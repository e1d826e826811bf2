import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { openSqliteTestDatabase, type TestDatabase } from "../../test/helpers/engines.ts";
import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/logger.ts";
import { createHttpServer } from "../core/server.ts";
import { auditHook } from "./http-hook.ts";
import { createAuditQueue, DROPPED_ACTION } from "./queue.ts";
import type { AuditEvent } from "./schema.ts";
import { createAuditService, type AuditService } from "./service.ts";

const logger = createLogger("silent");
const invoke = (i: number): AuditEvent => ({
  action: "model.invoke",
  outcome: "success",
  resource_id: `req_${i}`,
});

describe("batched audit appender", () => {
  let database: TestDatabase;
  let audit: AuditService;

  before(async () => {
    database = await openSqliteTestDatabase();
    audit = createAuditService(database.db);
  });
  after(async () => {
    await database?.dispose();
  });

  test("enqueue returns at once and close writes everything in order", async () => {
    const calls: number[] = [];
    const queue = createAuditQueue({
      service: {
        appendChecked: async (events) => {
          calls.push(events.length);
          return audit.appendChecked(events);
        },
      },
      logger,
      batchSize: 10,
      flushIntervalMs: 60_000,
    });
    for (let i = 0; i < 25; i++) queue.enqueue(invoke(i));
    await queue.close();
    assert.ok(
      calls.every((n) => n <= 10),
      `batches of at most 10, got ${calls.join(",")}`,
    );
    assert.equal(queue.stats().written, 25);
    const page = await audit.list({ action: "model.invoke" }, { limit: 100 });
    assert.deepEqual(
      page.data.map((e) => e.resource_id).reverse(),
      Array.from({ length: 25 }, (_, i) => `req_${i}`),
    );
    assert.equal((await audit.verify()).ok, true);
  });

  test("entries keep the time they were enqueued, not the time they were written", async () => {
    let now = 1_000;
    const queue = createAuditQueue({ service: audit, logger, now: () => now });
    queue.enqueue(invoke(100));
    now = 9_000;
    await queue.close();
    const [entry] = (await audit.list({}, { limit: 1 })).data;
    assert.equal(entry!.created_at, new Date(1_000).toISOString());
  });

  test("an event that carries its time keeps it; stamping one leaves the caller's as it was", async () => {
    const written: AuditEvent[] = [];
    const queue = createAuditQueue({
      service: {
        appendChecked: async (events) => {
          written.push(...events);
          return events.length;
        },
      },
      logger,
      now: () => 5_000,
      flushIntervalMs: 60_000,
    });
    const untimed = invoke(2);
    queue.enqueue({ ...invoke(1), at: 1_000 });
    queue.enqueue(untimed);
    await queue.close();
    assert.deepEqual(
      written.map((e) => e.at),
      [1_000, 5_000],
    );
    assert.equal(untimed.at, undefined);
  });

  test("the HTTP hook records a model invocation (not a read) with its stored details", async () => {
    const config = parseConfig({}, { env: {}, source: undefined, overrides: {} });
    const app = createHttpServer(config, logger);
    const queue = createAuditQueue({ service: audit, logger, flushIntervalMs: 60_000 });
    await app.register(auditHook, { queue });
    app.post("/v1/chat/completions", async () => ({ ok: true }));
    app.get("/v1/models", async () => ({ data: [] }));
    const entriesBefore = (await audit.verify()).entries;
    const start = Date.now();
    const res = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      payload: { model: "llama-3" },
      headers: { "user-agent": "test-agent", "x-request-id": "req_hook_1" },
    });
    await app.inject({ url: "/v1/models" });
    await queue.close();
    await app.close();

    assert.equal(res.statusCode, 200);
    assert.equal((await audit.verify()).entries, entriesBefore + 1);
    const [entry] = (await audit.list({}, { limit: 1 })).data;
    assert.equal(entry!.action, "model.invoke");
    assert.equal(entry!.resource_id, "llama-3");
    assert.equal(entry!.user_agent, "test-agent");
    const at = Date.parse(entry!.created_at);
    assert.ok(at >= start && at <= Date.now(), entry!.created_at);
    const raw = await sql<{ details: string }>`select details from audit_log where seq = ${
      entry!.seq
    }`.execute(database.db);
    assert.equal(
      raw.rows[0]!.details,
      '{"method":"POST","request_id":"req_hook_1","route":"/v1/chat/completions"}',
    );
  });

  test("a full queue drops events and records how many in the log", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const written: AuditEvent[] = [];
    const queue = createAuditQueue({
      service: {
        appendChecked: async (events) => {
          await gate;
          written.push(...events);
          return events.length;
        },
      },
      logger,
      maxQueue: 5,
      batchSize: 2,
      flushIntervalMs: 60_000,
    });
    for (let i = 0; i < 12; i++) queue.enqueue(invoke(i));
    assert.ok(queue.stats().dropped > 0);
    const dropped = queue.stats().dropped;
    release();
    await queue.close();
    const marker = written.find((e) => e.action === DROPPED_ACTION);
    assert.deepEqual(marker?.details, { count: dropped });
    assert.equal(written.filter((e) => e.action === "model.invoke").length, 12 - dropped);
  });

  test("a failed batch is retried, not lost", async () => {
    let failures = 1;
    const written: AuditEvent[] = [];
    const queue = createAuditQueue({
      service: {
        appendChecked: async (events) => {
          if (failures-- > 0) throw new Error("database is down");
          written.push(...events);
          return events.length;
        },
      },
      logger,
      flushIntervalMs: 60_000,
    });
    queue.enqueue(invoke(1));
    queue.enqueue(invoke(2));
    await queue.flush();
    assert.equal(queue.stats().failed_batches, 1);
    assert.equal(queue.stats().queued, 2);
    await queue.close();
    assert.deepEqual(
      written.map((e) => e.resource_id),
      ["req_1", "req_2"],
    );
  });

  test("an invalid event is refused at enqueue without throwing", async () => {
    const queue = createAuditQueue({ service: audit, logger });
    assert.doesNotThrow(() => queue.enqueue({ action: "NOT AN ACTION", outcome: "success" }));
    assert.equal(queue.stats().rejected, 1);
    await queue.close();
  });

  test("events the schema would refuse are refused at enqueue, valid ones are written", async () => {
    const queue = createAuditQueue({ service: audit, logger, flushIntervalMs: 60_000 });
    const bad = [
      { action: "model.invoke", outcome: "maybe" },
      { action: "model.invoke", outcome: "success", status_code: 42 },
      { action: "model.invoke", outcome: "success", status_code: 200.5 },
      { action: "model.invoke", outcome: "success", ip: 127001 },
      { action: "model.invoke", outcome: "success", details: ["a"] },
      { action: "model.invoke", outcome: "success", at: -1 },
      { action: 7, outcome: "success" },
    ];
    for (const event of bad) queue.enqueue(event as unknown as AuditEvent);
    queue.enqueue({ action: "model.invoke", outcome: "success", status_code: 200, ip: null });
    await queue.close();
    assert.equal(queue.stats().rejected, bad.length);
    assert.equal(queue.stats().written, 1);
    assert.equal((await audit.verify()).ok, true);
  });

  test("flushes on its own after the interval", async () => {
    const before = (await audit.verify()).entries;
    const queue = createAuditQueue({ service: audit, logger, flushIntervalMs: 10 });
    queue.enqueue(invoke(7));
    for (let i = 0; i < 100 && queue.stats().written === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(queue.stats().written, 1);
    assert.equal((await audit.verify()).entries, before + 1);
    await queue.close();
  });
});
