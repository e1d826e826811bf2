import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { anonymousOwner } from "../auth/index.ts";
import { parseConfig } from "../core/config.ts";
import type { ProblemBody } from "../core/error-render.ts";
import { createLogger } from "../core/logger.ts";
import { createHttpServer } from "../core/server.ts";
import { openSqliteTestDatabase, type TestDatabase } from "../../test/helpers/engines.ts";
import { errorTraceRecord, traceRecord } from "../../test/fixtures/trace-records.ts";
import { traceRoutes } from "./routes.ts";
import { encodeCursor, traceDetailSchema, traceListSchema } from "./schema.ts";
import { insertTraces } from "./store.ts";
import { toRow } from "./trace-rows.ts";

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);
const records = [
  traceRecord(T0),
  errorTraceRecord(T0 + 1_000),
  traceRecord(T0 + 2_000, { model: "summarizer" }),
];

describe("traces API", () => {
  let database: TestDatabase;
  let app: FastifyInstance;

  before(async () => {
    database = await openSqliteTestDatabase();
    await insertTraces(
      database.db,
      records.map((r) => toRow(r, "full")),
    );
    const config = parseConfig({}, { env: {}, source: undefined, overrides: {} });
    app = createHttpServer(config, createLogger("silent"));
    // As the auth plugin does when auth is off: every request is the global owner.
    app.addHook("onRequest", async (request) => {
      request.identity = anonymousOwner;
    });
    await app.register(traceRoutes, { db: database.db });
  });
  after(async () => {
    await app.close();
    await database.dispose();
  });

  async function get(url: string) {
    const res = await app.inject({ method: "GET", url });
    // Success bodies are checked with the shared schemas; error bodies are problem+json.
    return {
      status: res.statusCode,
      type: res.headers["content-type"],
      body: res.json<ProblemBody>(),
    };
  }

  test("lists traces newest first in the shared response shape", async () => {
    const res = await get("/api/traces");
    assert.equal(res.status, 200);
    const page = traceListSchema.parse(res.body);
    assert.deepEqual(
      page.data.map((t) => t.id),
      records.map((r) => r.id).reverse(),
    );
    assert.equal(page.next_cursor, null);
  });

  test("filters by model and status and hands out a cursor for the next page", async () => {
    const first = traceListSchema.parse((await get("/api/traces?limit=1&model=support-bot")).body);
    assert.equal(first.data[0]?.id, records[1]!.id);
    assert.ok(first.next_cursor !== null);
    const second = traceListSchema.parse(
      (await get(`/api/traces?limit=1&model=support-bot&cursor=${first.next_cursor}`)).body,
    );
    assert.deepEqual(
      second.data.map((t) => t.id),
      [records[0]!.id],
    );
    assert.equal(second.next_cursor, null);

    const errors = traceListSchema.parse((await get("/api/traces?status=error")).body);
    assert.deepEqual(
      errors.data.map((t) => t.error_code),
      ["provider_timeout"],
    );
  });

  test("since and until take ISO-8601 or epoch milliseconds", async () => {
    const iso = new Date(T0 + 1_000).toISOString();
    const page = traceListSchema.parse(
      (await get(`/api/traces?since=${iso}&until=${T0 + 2_000}`)).body,
    );
    assert.deepEqual(
      page.data.map((t) => t.id),
      [records[1]!.id],
    );
  });

  test("a window opening before 1970 holds every trace up to its end", async () => {
    const page = traceListSchema.parse(
      (await get(`/api/traces?since=1960-01-01&until=${T0 + 2_000}`)).body,
    );
    assert.deepEqual(
      page.data.map((t) => t.id),
      [records[1]!.id, records[0]!.id],
    );
  });

  test("returns one trace in full with attempts and bodies", async () => {
    const res = await get(`/api/traces/${records[0]!.id}`);
    assert.equal(res.status, 200);
    const trace = traceDetailSchema.parse(res.body);
    assert.deepEqual(trace.request_body, records[0]!.request_body);
    assert.equal(trace.attempts[0]?.outcome, "ok");
    assert.equal(trace.started_at, "2026-01-31T12:00:00.000Z");
  });

  test("an unknown trace id is a 404 not_found problem", async () => {
    const res = await get("/api/traces/trc_00000000000000000000000000");
    assert.equal(res.status, 404);
    assert.match(String(res.type), /application\/problem\+json/);
    assert.equal(res.body.code, "not_found");
    assert.match(res.body.detail, /no trace with id/);
  });

  const badQueries: [string, string, RegExp][] = [
    ["limit=0", "limit", /1 to 200/],
    ["limit=201", "limit", /1 to 200/],
    ["limit=ten", "limit", /1 to 200/],
    ["status=failed", "status", /ok|error/],
    ["since=yesterday", "since", /ISO-8601/],
    ["until=2026-01-31T12:00:00", "until", /with a zone/],
    [`since=${T0 + 5}&until=${T0}`, "since", /earlier than until/],
    ["cursor=not-a-cursor", "cursor", /next_cursor/],
    [`cursor=${encodeCursor("run_1")}`, "cursor", /next_cursor/],
    ["model=a&model=b", "model", /string/],
  ];
  for (const [query, param, message] of badQueries) {
    test(`a bad query (${query}) is a 400 naming ${param}`, async () => {
      const res = await get(`/api/traces?${query}`);
      assert.equal(res.status, 400);
      assert.match(String(res.type), /application\/problem\+json/);
      assert.equal(res.body.code, "invalid_request");
      assert.equal(res.body.param, param);
      assert.match(res.body.detail, new RegExp(`^${param}: `));
      assert.match(res.body.detail, message);
    });
  }

  test("an unknown query parameter is refused by name, not ignored", async () => {
    const res = await get("/api/traces?modle=support-bot");
    assert.equal(res.status, 400);
    assert.match(res.body.detail, /modle/);
  });
});
