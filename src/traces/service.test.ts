import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeelError } from "../core/errors.ts";
import { engines, type TestDatabase } from "../../test/helpers/engines.ts";
import { errorTraceRecord, traceRecord } from "../../test/fixtures/trace-records.ts";
import { parseInput } from "../core/error-render.ts";
import { traceListQuerySchema, type TraceList, type TraceRecord } from "./schema.ts";
import { createTraceService, type TraceService } from "./service.ts";
import { insertTraces } from "./store.ts";
import { toRow } from "./trace-rows.ts";

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

/** 30 traces a second apart: two models in turn, every third one an error, two per ms at the end. */
function fixtures(): TraceRecord[] {
  const records: TraceRecord[] = [];
  for (let i = 0; i < 30; i++) {
    const at = T0 + i * 1_000;
    const model = i % 2 === 0 ? "support-bot" : "summarizer";
    records.push(i % 3 === 0 ? errorTraceRecord(at, { model }) : traceRecord(at, { model }));
  }
  // Same millisecond: the id's random part orders them, and pagination must not lose either.
  records.push(traceRecord(T0 + 29_000, { model: "support-bot" }));
  return records;
}

/** Walks every page of a query; returns the ids in order and the page sizes. */
async function walk(service: TraceService, params: Record<string, string>) {
  const ids: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const query = parseInput(traceListQuerySchema, {
      ...params,
      ...(cursor === null ? {} : { cursor }),
    });
    const result: TraceList = await service.list(query);
    ids.push(...result.data.map((t) => t.id));
    sizes.push(result.data.length);
    cursor = result.next_cursor;
    if (cursor === null) return { ids, sizes };
  }
  assert.fail("pagination did not end");
}

function newestFirst(records: TraceRecord[]): string[] {
  return records.map((r) => r.id).sort((a, b) => (a < b ? 1 : -1));
}

for (const engine of engines()) {
  describe(`trace queries on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    let service: TraceService;
    const records = fixtures();

    before(async () => {
      database = await engine.open();
      await insertTraces(
        database.db,
        records.map((r) => toRow(r, "full")),
      );
      service = createTraceService(database.db);
    });
    after(async () => database.dispose());

    test("pages through every trace newest first without repeats or gaps", async () => {
      const { ids, sizes } = await walk(service, { limit: "7" });
      assert.deepEqual(ids, newestFirst(records));
      assert.deepEqual(sizes, [7, 7, 7, 7, 3]);
    });

    test("a last page that is exactly full says there is no next page", async () => {
      const { sizes } = await walk(service, { limit: String(records.length) });
      assert.deepEqual(sizes, [records.length]);
    });

    test("filters by model, status and time together across pages", async () => {
      const since = T0 + 3_000;
      const until = T0 + 25_000;
      const { ids } = await walk(service, {
        model: "support-bot",
        status: "ok",
        since: new Date(since).toISOString(),
        until: String(until),
        limit: "2",
      });
      const expected = records.filter(
        (r) =>
          r.model === "support-bot" &&
          r.status === "ok" &&
          r.started_at >= since &&
          r.started_at < until,
      );
      assert.ok(expected.length > 4, "the filter leaves several pages");
      assert.deepEqual(ids, newestFirst(expected));
    });

    test("error traces are found by status", async () => {
      const { ids } = await walk(service, { status: "error", limit: "50" });
      assert.deepEqual(ids, newestFirst(records.filter((r) => r.status === "error")));
    });

    test("list items carry ISO times and dollars but no bodies", async () => {
      const page = await service.list(parseInput(traceListQuerySchema, { limit: "1" }));
      const item = page.data[0]!;
      const source = records.find((r) => r.id === item.id)!;
      assert.equal(item.started_at, new Date(source.started_at).toISOString());
      assert.equal(item.cost_micros, source.cost_micros);
      assert.equal(item.cost_usd, source.cost_micros / 1_000_000);
      assert.equal(item.total_tokens, source.prompt_tokens + source.completion_tokens);
      assert.equal(typeof item.stream, "boolean");
      assert.ok(!("request_body" in item));
      assert.ok(!("attempts" in item));
    });

    test("a trace in full has its attempts, bodies and metadata", async () => {
      const source = records[1]!;
      const trace = await service.get(source.id);
      assert.equal(trace.id, source.id);
      assert.equal(trace.ended_at, new Date(source.ended_at).toISOString());
      assert.equal(trace.latency_ms, 120);
      assert.deepEqual(trace.request_body, source.request_body);
      assert.deepEqual(trace.response_body, source.response_body);
      assert.deepEqual(trace.metadata, source.metadata);
      assert.equal(trace.attempts.length, 1);
      assert.equal(trace.attempts[0]!.started_at, new Date(T0 + 1_002).toISOString());
      assert.equal(trace.attempts[0]!.deployment, "vllm/llama");
    });

    test("an unknown id is not_found", async () => {
      await assert.rejects(
        service.get("trc_00000000000000000000000000"),
        (err) => err instanceof KeelError && err.code === "not_found" && err.status === 404,
      );
    });
  });
}
