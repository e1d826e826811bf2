import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { HTTPMethods } from "fastify";
import { createAuthApp, type AuthApp, type ProjectRole } from "./fixtures/auth-app.ts";

/**
 * Cross-project isolation: a key of project A can neither read nor change nor invoke anything
 * of project B, and B's ids answer 404 exactly as ids that never existed, on every resource
 * route.
 */
interface Probe {
  name: string;
  /** A's roles whose permission covers the route (the others get 403 before any lookup). */
  roles: readonly ProjectRole[];
  request: (
    t: AuthApp,
    foreignId: (kind: "project" | "key" | "note") => string,
  ) => {
    method: HTTPMethods;
    url: string;
    body?: unknown;
  };
}

const readers: readonly ProjectRole[] = ["admin", "developer", "viewer"];
const keyReaders: readonly ProjectRole[] = ["admin", "developer"];
const writers: readonly ProjectRole[] = ["admin", "developer"];

const probes: Probe[] = [
  {
    name: "GET /api/projects/:id",
    roles: readers,
    request: (_t, id) => ({ method: "GET", url: `/api/projects/${id("project")}` }),
  },
  {
    name: "GET /api/keys?project_id=",
    roles: keyReaders,
    request: (_t, id) => ({ method: "GET", url: `/api/keys?project_id=${id("project")}` }),
  },
  {
    name: "POST /api/keys {project_id}",
    roles: ["admin"],
    request: (_t, id) => ({
      method: "POST",
      url: "/api/keys",
      body: { name: "intruder", role: "viewer", project_id: id("project") },
    }),
  },
  {
    name: "GET /api/keys/:id",
    roles: keyReaders,
    request: (_t, id) => ({ method: "GET", url: `/api/keys/${id("key")}` }),
  },
  {
    name: "DELETE /api/keys/:id",
    roles: ["admin"],
    request: (_t, id) => ({ method: "DELETE", url: `/api/keys/${id("key")}` }),
  },
  {
    name: "POST /api/keys/:id/rotate",
    roles: ["admin"],
    request: (_t, id) => ({ method: "POST", url: `/api/keys/${id("key")}/rotate`, body: {} }),
  },
  {
    name: "GET /api/notes/:id",
    roles: readers,
    request: (_t, id) => ({ method: "GET", url: `/api/notes/${id("note")}` }),
  },
  {
    name: "DELETE /api/notes/:id",
    roles: writers,
    request: (_t, id) => ({ method: "DELETE", url: `/api/notes/${id("note")}` }),
  },
  {
    name: "GET /api/notes?project_id=",
    roles: readers,
    request: (_t, id) => ({ method: "GET", url: `/api/notes?project_id=${id("project")}` }),
  },
  {
    name: "POST /api/notes {project_id}",
    roles: writers,
    request: (_t, id) => ({
      method: "POST",
      url: "/api/notes",
      body: { text: "x", project_id: id("project") },
    }),
  },
];

const MISSING = {
  project: "prj_01KZZZZZZZZZZZZZZZZZZZZZZZ",
  key: "key_01KZZZZZZZZZZZZZZZZZZZZZZZ",
  note: "note_999999",
};

function detail(body: string): string {
  return (JSON.parse(body) as { detail: string }).detail;
}

describe("cross-project isolation", () => {
  let t: AuthApp;
  before(async () => {
    t = await createAuthApp();
  });
  after(async () => t.close());

  const foreign = (t: AuthApp) => (kind: "project" | "key" | "note") =>
    kind === "project" ? t.projects.b.id : kind === "key" ? t.keys.b.viewer.id : t.notes.b;

  for (const probe of probes) {
    for (const role of probe.roles) {
      test(`${probe.name}: project B's id is a 404 for A's ${role}, like an unknown id`, async () => {
        const key = t.keys.a[role].key;
        const theirs = probe.request(t, foreign(t));
        const res = await t.call(key, theirs.method, theirs.url, theirs.body);
        assert.equal(res.statusCode, 404, res.body);

        const unknown = probe.request(t, (kind) => MISSING[kind]);
        const missing = await t.call(key, unknown.method, unknown.url, unknown.body);
        assert.equal(missing.statusCode, 404, missing.body);
        // The same sentence, only the id differs: nothing tells "exists elsewhere" apart.
        const b = foreign(t);
        let theirsText = detail(res.body);
        let missingText = detail(missing.body);
        for (const kind of ["project", "key", "note"] as const) {
          theirsText = theirsText.replace(b(kind), "<id>");
          missingText = missingText.replace(MISSING[kind], "<id>");
        }
        assert.equal(theirsText, missingText);
      });
    }
  }

  test("B's key and note are untouched after A's attempts", async () => {
    const stillThere = await t.call(t.keys.b.admin.key, "GET", `/api/notes/${t.notes.b}`);
    assert.equal(stillThere.statusCode, 200);
    const keyWorks = await t.call(t.keys.b.viewer.key, "GET", "/api/projects");
    assert.equal(keyWorks.statusCode, 200);
  });

  test("listings show only the caller's project", async () => {
    const projects = await t.call(t.keys.a.viewer.key, "GET", "/api/projects");
    assert.deepEqual(
      projects.json<{ data: { id: string }[] }>().data.map((p) => p.id),
      [t.projects.a.id],
    );
    const keys = await t.call(t.keys.a.admin.key, "GET", "/api/keys");
    const owners = keys
      .json<{ data: { project_id: string | null }[] }>()
      .data.map((k) => k.project_id);
    assert.ok(owners.length >= 4);
    assert.ok(
      owners.every((p) => p === t.projects.a.id),
      "no B keys, no global keys",
    );
    const notes = await t.call(t.keys.a.viewer.key, "GET", "/api/notes");
    const noteProjects = notes
      .json<{ data: { project_id: string }[] }>()
      .data.map((n) => n.project_id);
    assert.ok(noteProjects.length > 0 && noteProjects.every((p) => p === t.projects.a.id));
  });

  test("a project key cannot see a global key", async () => {
    const keys = await t.call(t.ownerKey, "GET", "/api/keys");
    const owner = keys
      .json<{ data: { id: string; role: string }[] }>()
      .data.find((k) => k.role === "owner");
    assert.ok(owner);
    const res = await t.call(t.keys.a.admin.key, "GET", `/api/keys/${owner.id}`);
    assert.equal(res.statusCode, 404);
  });

  test("a key's created resources land in its own project whatever it asks", async () => {
    const res = await t.call(t.keys.a.developer.key, "POST", "/api/notes", { text: "mine" });
    assert.equal(res.json<{ project_id: string }>().project_id, t.projects.a.id);
  });

  test("a global owner key sees both projects", async () => {
    const res = await t.call(t.ownerKey, "GET", "/api/projects");
    assert.equal(res.json<{ data: unknown[] }>().data.length, 2);
    assert.equal((await t.call(t.ownerKey, "GET", `/api/notes/${t.notes.b}`)).statusCode, 200);
    const scoped = await t.call(t.ownerKey, "GET", `/api/keys?project_id=${t.projects.b.id}`);
    const ids = scoped.json<{ data: { project_id: string }[] }>().data.map((k) => k.project_id);
    assert.ok(ids.length > 0 && ids.every((p) => p === t.projects.b.id));
  });
});
