import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createAuditService } from "../src/audit/index.ts";
import { insertTraces } from "../src/traces/store.ts";
import { toRow } from "../src/traces/trace-rows.ts";
import { traceRecord } from "./fixtures/trace-records.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/**
 * Cross-project isolation on the traces and audit routes of a real Keel: a key of project A
 * never sees project B's traces or audit entries, and B's ids answer 404 worded exactly like
 * ids that never existed. Global keys see everything and filter by project.
 */

const UNKNOWN_TRACE = "trc_01KZZZZZZZZZZZZZZZZZZZZZZZ";
const UNKNOWN_PROJECT = "prj_01KZZZZZZZZZZZZZZZZZZZZZZZ";
const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

interface Tenant {
  project: string;
  admin: string;
  developer: string;
  viewer: string;
  traces: string[];
}

describe("traces and audit isolation between projects", () => {
  let k: RunningKeel;
  let a: Tenant;
  let b: Tenant;
  let globalTrace: string;

  async function call(key: string, url: string) {
    return k.keel.http.inject({ method: "GET", url, headers: { authorization: `Bearer ${key}` } });
  }

  async function tenant(name: string, offset: number): Promise<Tenant> {
    const project = (
      await k.keel.http.inject({
        method: "POST",
        url: "/api/projects",
        headers: k.headers,
        payload: { name },
      })
    ).json<{ id: string }>().id;
    const key = async (role: string) =>
      (
        await k.keel.http.inject({
          method: "POST",
          url: "/api/keys",
          headers: k.headers,
          payload: { name: `${name}-${role}`, role, project_id: project },
        })
      ).json<{ key: string }>().key;
    const records = [0, 1].map((i) => traceRecord(T0 + offset + i * 10, { project_id: project }));
    await insertTraces(
      k.keel.database.db,
      records.map((r) => toRow(r, "full")),
    );
    const audit = createAuditService(k.keel.database.db);
    await audit.append({ action: "keys.create", outcome: "success", project_id: project });
    return {
      project,
      admin: await key("admin"),
      developer: await key("developer"),
      viewer: await key("viewer"),
      traces: records.map((r) => r.id),
    };
  }

  before(async () => {
    k = await startKeel();
    a = await tenant("project-a", 0);
    b = await tenant("project-b", 1_000);
    const global = traceRecord(T0 + 2_000);
    globalTrace = global.id;
    await insertTraces(k.keel.database.db, [toRow(global, "full")]);
  });
  after(async () => k.close());

  const detail = (body: string) => (JSON.parse(body) as { detail: string }).detail;

  for (const role of ["admin", "developer", "viewer"] as const) {
    test(`GET /api/traces/:id: B's trace is a 404 for A's ${role}, like an unknown id`, async () => {
      const theirs = await call(a[role], `/api/traces/${b.traces[0]!}`);
      const unknown = await call(a[role], `/api/traces/${UNKNOWN_TRACE}`);
      assert.equal(theirs.statusCode, 404, theirs.body);
      assert.equal(unknown.statusCode, 404);
      assert.equal(
        detail(theirs.body).replace(b.traces[0]!, "<id>"),
        detail(unknown.body).replace(UNKNOWN_TRACE, "<id>"),
      );
      const global = await call(a[role], `/api/traces/${globalTrace}`);
      assert.equal(global.statusCode, 404, "a trace outside every project is not A's either");
      assert.equal((await call(a[role], `/api/traces/${a.traces[0]!}`)).statusCode, 200);
    });

    test(`GET /api/traces lists only A's traces for A's ${role}`, async () => {
      const res = await call(a[role], "/api/traces");
      assert.equal(res.statusCode, 200);
      const ids = res.json<{ data: { id: string; project_id: string }[] }>().data;
      assert.deepEqual(ids.map((t) => t.id).sort(), [...a.traces].sort());
    });

    test(`GET /api/traces?project_id=B is a 404 for A's ${role}, like an unknown project`, async () => {
      const theirs = await call(a[role], `/api/traces?project_id=${b.project}`);
      const unknown = await call(a[role], `/api/traces?project_id=${UNKNOWN_PROJECT}`);
      assert.equal(theirs.statusCode, 404, theirs.body);
      assert.equal(unknown.statusCode, 404);
      assert.equal(
        detail(theirs.body).replace(b.project, "<id>"),
        detail(unknown.body).replace(UNKNOWN_PROJECT, "<id>"),
      );
      const own = await call(a[role], `/api/traces?project_id=${a.project}`);
      assert.equal(own.json<{ data: unknown[] }>().data.length, 2);
    });
  }

  test("a global key sees every project's traces and filters by project_id", async () => {
    const all = await call(k.apiKey, "/api/traces");
    assert.equal(all.json<{ data: unknown[] }>().data.length, 5);
    const onlyB = await call(k.apiKey, `/api/traces?project_id=${b.project}`);
    assert.deepEqual(
      onlyB
        .json<{ data: { id: string }[] }>()
        .data.map((t) => t.id)
        .sort(),
      [...b.traces].sort(),
    );
    assert.equal((await call(k.apiKey, `/api/traces/${b.traces[1]!}`)).statusCode, 200);
  });

  test("GET /api/audit shows A's admin only A's entries", async () => {
    const res = await call(a.admin, "/api/audit?limit=500");
    assert.equal(res.statusCode, 200);
    const projects = res
      .json<{ data: { project_id: string | null }[] }>()
      .data.map((e) => e.project_id);
    assert.ok(projects.length >= 1);
    assert.ok(
      projects.every((p) => p === a.project),
      JSON.stringify(projects),
    );
  });

  test("GET /api/audit?project_id=B is a 404 for A's admin, like an unknown project", async () => {
    const theirs = await call(a.admin, `/api/audit?project_id=${b.project}`);
    const unknown = await call(a.admin, `/api/audit?project_id=${UNKNOWN_PROJECT}`);
    assert.equal(theirs.statusCode, 404, theirs.body);
    assert.equal(unknown.statusCode, 404);
    assert.equal(
      detail(theirs.body).replace(b.project, "<id>"),
      detail(unknown.body).replace(UNKNOWN_PROJECT, "<id>"),
    );
  });

  test("GET /api/audit/export streams only A's entries to A's admin", async () => {
    const res = await call(a.admin, "/api/audit/export");
    assert.equal(res.statusCode, 200);
    const lines = res.body.trim().split("\n").filter(Boolean);
    assert.ok(lines.length >= 1);
    for (const line of lines) {
      assert.equal((JSON.parse(line) as { project_id: string }).project_id, a.project);
    }
    const theirs = await call(a.admin, `/api/audit/export?project_id=${b.project}`);
    assert.equal(theirs.statusCode, 404);
    assert.doesNotMatch(theirs.body, /keys\.create/);
  });

  test("GET /api/audit/verify is for global keys: a project admin gets 403", async () => {
    const res = await call(a.admin, "/api/audit/verify");
    assert.equal(res.statusCode, 403);
    assert.match(detail(res.body), /global \(owner\) key/);
    const owner = await call(k.apiKey, "/api/audit/verify");
    assert.equal(owner.statusCode, 200);
    assert.equal(owner.json<{ ok: boolean }>().ok, true);
  });

  test("a global key reads every project's audit entries and filters by project_id", async () => {
    const res = await call(k.apiKey, `/api/audit?project_id=${b.project}`);
    const projects = res
      .json<{ data: { project_id: string | null }[] }>()
      .data.map((e) => e.project_id);
    assert.ok(projects.length >= 1 && projects.every((p) => p === b.project));
  });
});
