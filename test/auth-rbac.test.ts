import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { HTTPMethods } from "fastify";
import { permissions, rolePermissions, roles, type Role } from "../src/auth/index.ts";
import { createAuthApp, type AuthApp } from "./fixtures/auth-app.ts";

/**
 * Every role against every route: the auth API and the sample resource routes of the fixture
 * (a project-owned resource, an audit-like read, a fake /v1). The expectations are written
 * out here, not derived from the role table, so a change to the table must change this test.
 */
type Target = (t: AuthApp) => Promise<{ method: HTTPMethods; url: string; body?: unknown }>;

const ALL: readonly Role[] = roles;
let sequence = 0;

const routes: { name: string; allowed: readonly Role[]; target: Target }[] = [
  {
    name: "POST /api/projects",
    allowed: ["owner"],
    target: async () => ({
      method: "POST",
      url: "/api/projects",
      body: { name: `p${++sequence}` },
    }),
  },
  {
    name: "GET /api/projects",
    allowed: ["owner", "admin", "developer", "viewer"],
    target: async () => ({ method: "GET", url: "/api/projects" }),
  },
  {
    name: "GET /api/projects/:id",
    allowed: ["owner", "admin", "developer", "viewer"],
    target: async (t) => ({ method: "GET", url: `/api/projects/${t.projects.a.id}` }),
  },
  {
    name: "POST /api/keys",
    allowed: ["owner", "admin"],
    target: async (t) => ({
      method: "POST",
      url: "/api/keys",
      body: { name: "new", role: "viewer", project_id: t.projects.a.id },
    }),
  },
  {
    name: "GET /api/keys",
    allowed: ["owner", "admin", "developer"],
    target: async () => ({ method: "GET", url: "/api/keys" }),
  },
  {
    name: "GET /api/keys/:id",
    allowed: ["owner", "admin", "developer"],
    target: async (t) => ({ method: "GET", url: `/api/keys/${t.keys.a.viewer.id}` }),
  },
  {
    name: "DELETE /api/keys/:id",
    allowed: ["owner", "admin"],
    target: async (t) => ({ method: "DELETE", url: `/api/keys/${await victimKey(t)}` }),
  },
  {
    name: "POST /api/keys/:id/rotate",
    allowed: ["owner", "admin"],
    target: async (t) => ({
      method: "POST",
      url: `/api/keys/${await victimKey(t)}/rotate`,
      body: {},
    }),
  },
  {
    name: "POST /api/notes (traces:write)",
    allowed: ["owner", "admin", "developer"],
    target: async () => ({ method: "POST", url: "/api/notes", body: { text: "x" } }),
  },
  {
    name: "GET /api/notes (traces:read)",
    allowed: ["owner", "admin", "developer", "viewer"],
    target: async () => ({ method: "GET", url: "/api/notes" }),
  },
  {
    name: "GET /api/notes/:id (traces:read)",
    allowed: ["owner", "admin", "developer", "viewer"],
    target: async (t) => ({ method: "GET", url: `/api/notes/${t.notes.a}` }),
  },
  {
    name: "DELETE /api/notes/:id (traces:write)",
    allowed: ["owner", "admin", "developer"],
    target: async (t) => ({ method: "DELETE", url: `/api/notes/${await victimNote(t)}` }),
  },
  {
    name: "GET /api/audit-log (audit:read)",
    allowed: ["owner", "admin"],
    target: async () => ({ method: "GET", url: "/api/audit-log" }),
  },
  {
    name: "POST /v1/chat/completions (models:invoke)",
    allowed: ["owner", "admin", "developer", "service"],
    target: async () => ({ method: "POST", url: "/v1/chat/completions", body: { model: "small" } }),
  },
  {
    name: "GET /v1/models (models:invoke)",
    allowed: ["owner", "admin", "developer", "service"],
    target: async () => ({ method: "GET", url: "/v1/models" }),
  },
  {
    name: "GET /api/undeclared (no permission declared)",
    allowed: [],
    target: async () => ({ method: "GET", url: "/api/undeclared" }),
  },
  {
    name: "GET /healthz (public)",
    allowed: ALL,
    target: async () => ({ method: "GET", url: "/healthz" }),
  },
];

/** A fresh viewer key in project A to revoke or rotate. */
async function victimKey(t: AuthApp): Promise<string> {
  const res = await t.call(t.ownerKey, "POST", "/api/keys", {
    name: "victim",
    role: "viewer",
    project_id: t.projects.a.id,
  });
  return res.json<{ id: string }>().id;
}

async function victimNote(t: AuthApp): Promise<string> {
  const res = await t.call(t.keys.a.admin.key, "POST", "/api/notes", { text: "victim" });
  return res.json<{ id: string }>().id;
}

function keyOf(t: AuthApp, role: Role): string {
  return role === "owner" ? t.ownerKey : t.keys.a[role].key;
}

describe("RBAC matrix: every role × every route", () => {
  let t: AuthApp;
  before(async () => {
    t = await createAuthApp();
  });
  after(async () => t.close());

  for (const route of routes) {
    for (const role of ALL) {
      const allow = route.allowed.includes(role);
      test(`${role} ${allow ? "may" : "may not"} ${route.name}`, async () => {
        const target = await route.target(t);
        const res = await t.call(keyOf(t, role), target.method, target.url, target.body);
        if (allow) {
          assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${res.statusCode} ${res.body}`);
        } else {
          assert.equal(res.statusCode, 403, res.body);
        }
      });
    }
  }
});

describe("RBAC: which keys a key may create", () => {
  let t: AuthApp;
  before(async () => {
    t = await createAuthApp();
  });
  after(async () => t.close());

  // caller → the roles it may grant inside project A.
  const grants: Record<"owner" | "admin", readonly Role[]> = {
    owner: ["admin", "developer", "viewer", "service"],
    admin: ["admin", "developer", "viewer", "service"],
  };
  for (const caller of ["owner", "admin"] as const) {
    for (const role of ALL.filter((r) => r !== "owner")) {
      const allow = grants[caller].includes(role);
      test(`${caller} ${allow ? "may" : "may not"} create a ${role} key in its project`, async () => {
        const res = await t.call(keyOf(t, caller), "POST", "/api/keys", {
          name: "granted",
          role,
          project_id: t.projects.a.id,
        });
        assert.equal(res.statusCode, allow ? 201 : 403, res.body);
      });
    }
  }

  test("an admin cannot create an owner key", async () => {
    const res = await t.call(t.keys.a.admin.key, "POST", "/api/keys", { name: "x", role: "owner" });
    assert.equal(res.statusCode, 403);
  });

  test("only an owner creates global keys", async () => {
    const owner = await t.call(t.ownerKey, "POST", "/api/keys", { name: "g", role: "viewer" });
    assert.equal(owner.statusCode, 201);
    assert.equal(owner.json<{ project_id: null }>().project_id, null);
    // An admin that leaves project_id out gets a key in its own project, never a global one.
    const admin = await t.call(t.keys.a.admin.key, "POST", "/api/keys", {
      name: "g",
      role: "viewer",
    });
    assert.equal(admin.json<{ project_id: string }>().project_id, t.projects.a.id);
  });

  test("owner keys are global only", async () => {
    const res = await t.call(t.ownerKey, "POST", "/api/keys", {
      name: "x",
      role: "owner",
      project_id: t.projects.a.id,
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ param: string }>().param, "role");
  });

  test("a global admin cannot revoke or rotate the owner key", async () => {
    const created = await t.call(t.ownerKey, "POST", "/api/keys", { name: "ops", role: "admin" });
    const admin = created.json<{ key: string }>().key;
    const keys = await t.call(admin, "GET", "/api/keys");
    const owner = keys
      .json<{ data: { id: string; role: string }[] }>()
      .data.find((k) => k.role === "owner");
    assert.ok(owner, "a global key sees global keys");
    const revoke = await t.call(admin, "DELETE", `/api/keys/${owner.id}`);
    assert.equal(revoke.statusCode, 403);
    const rotate = await t.call(admin, "POST", `/api/keys/${owner.id}/rotate`, {});
    assert.equal(rotate.statusCode, 403);
    assert.equal((await t.call(t.ownerKey, "GET", "/api/projects")).statusCode, 200);
  });

  test("a key limited to some models hands out only those", async () => {
    const limited = await t.call(t.ownerKey, "POST", "/api/keys", {
      name: "limited admin",
      role: "admin",
      project_id: t.projects.a.id,
      models: ["small"],
    });
    const key = limited.json<{ key: string }>().key;
    const wider = await t.call(key, "POST", "/api/keys", {
      name: "x",
      role: "service",
      models: ["small", "large"],
    });
    assert.equal(wider.statusCode, 403);
    assert.equal(wider.json<{ param: string }>().param, "models");
    const inherited = await t.call(key, "POST", "/api/keys", { name: "x", role: "service" });
    assert.deepEqual(inherited.json<{ models: string[] }>().models, ["small"]);
  });
});

describe("the role table in the README", () => {
  test("matches the table in code", () => {
    const doc = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const rows = doc.split("\n").filter((line) => /^\| `[a-z]+:[a-z]+`/.test(line));
    assert.equal(rows.length, permissions.length, "one row per permission");
    for (const row of rows) {
      const cells = row
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
      const permission = cells[0]!.replaceAll("`", "");
      roles.forEach((role, i) => {
        const documented = cells[i + 1] === "✓";
        const granted = (rolePermissions[role] as readonly string[]).includes(permission);
        assert.equal(documented, granted, `${role} × ${permission}`);
      });
    }
  });
});
