import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { createAuditApp } from "../../test/fixtures/audit-app.ts";
import { openSqliteTestDatabase, type TestDatabase } from "../../test/helpers/engines.ts";
import { createAuditService } from "./service.ts";

describe("audit API", () => {
  let database: TestDatabase;
  let app: FastifyInstance;

  before(async () => {
    database = await openSqliteTestDatabase();
    app = await createAuditApp(database.db);
    const audit = createAuditService(database.db);
    for (let i = 0; i < 7; i++) {
      await audit.append({
        action: i < 3 ? "keys.create" : "model.invoke",
        outcome: "success",
        actor_key_id: `key_${i % 2}`,
        at: Date.UTC(2026, 0, 1, 0, i),
      });
    }
  });
  after(async () => {
    await app?.close();
    await database?.dispose();
  });

  test("GET /api/audit pages newest first with next_cursor", async () => {
    const first = await app.inject({ url: "/api/audit?limit=4" });
    assert.equal(first.statusCode, 200);
    const page = first.json<{ data: { seq: number; created_at: string }[]; next_cursor: string }>();
    assert.deepEqual(
      page.data.map((e) => e.seq),
      [7, 6, 5, 4],
    );
    assert.equal(page.data[0]!.created_at, "2026-01-01T00:06:00.000Z");
    const second = await app.inject({ url: `/api/audit?limit=4&cursor=${page.next_cursor}` });
    const rest = second.json<{ data: { seq: number }[]; next_cursor: string | null }>();
    assert.deepEqual(
      rest.data.map((e) => e.seq),
      [3, 2, 1],
    );
    assert.equal(rest.next_cursor, null);
  });

  test("GET /api/audit filters by action, actor and time", async () => {
    const res = await app.inject({
      url: "/api/audit",
      query: {
        action: "keys.create",
        actor_key_id: "key_0",
        since: "2026-01-01T00:00:00Z",
        until: "2026-01-01T00:01:30+00:00",
      },
    });
    assert.deepEqual(
      res.json<{ data: { seq: number }[] }>().data.map((e) => e.seq),
      [1],
    );
  });

  test("bad query parameters are a 400 naming the parameter", async () => {
    for (const [query, param] of [
      ["limit=0", "limit"],
      ["limit=many", "limit"],
      ["since=yesterday", "since"],
      ["cursor=-3", "cursor"],
      ["actor=key_0", ""],
    ] as const) {
      const res = await app.inject({ url: `/api/audit?${query}` });
      assert.equal(res.statusCode, 400, query);
      assert.match(res.headers["content-type"] ?? "", /application\/problem\+json/);
      const body = res.json<{ code: string; detail: string; param?: string }>();
      assert.equal(body.code, "invalid_request");
      if (param !== "") assert.equal(body.param, param, query);
      else assert.match(body.detail, /actor/);
    }
  });

  test("GET /api/audit/verify reports an intact chain", async () => {
    const res = await app.inject({ url: "/api/audit/verify" });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ ok: boolean; entries: number; head: { seq: number } }>();
    assert.equal(body.ok, true);
    assert.equal(body.entries, 7);
    assert.equal(body.head.seq, 7);
  });

  test("GET /api/audit/export streams JSON lines oldest first", async () => {
    const res = await app.inject({ url: "/api/audit/export?format=jsonl" });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] ?? "", /application\/x-ndjson/);
    const lines = res.body
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { seq: number });
    assert.deepEqual(
      lines.map((l) => l.seq),
      [1, 2, 3, 4, 5, 6, 7],
    );
    const filtered = await app.inject({ url: "/api/audit/export?action=keys.create" });
    assert.equal(filtered.body.trimEnd().split("\n").length, 3);
  });

  test("an unknown export format is a 400", async () => {
    const res = await app.inject({ url: "/api/audit/export?format=csv" });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ param: string }>().param, "format");
  });

  test("verify names an entry edited behind Keel's back", async () => {
    await sql`update audit_log set outcome = 'denied' where seq = 4`.execute(database.db);
    const body = (await app.inject({ url: "/api/audit/verify" })).json<{
      ok: boolean;
      first_bad: { seq: number; reason: string };
    }>();
    assert.equal(body.ok, false);
    assert.equal(body.first_bad.seq, 4);
    assert.equal(body.first_bad.reason, "hash_mismatch");
  });
});
