import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rolePermissions, roles, type Role } from "../src/auth/index.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";
import { bearer, createKey, createProject } from "./helpers/tenants.ts";

/**
 * Every role × every route the running server mounts: a route is allowed exactly when the
 * role grants the permission the route declares, denied (403) otherwise. Allowed requests
 * may still fail on their made-up input (400, 404), never with 401 or 403. The list of
 * routes comes from the server itself, so a route added later is covered without editing
 * this test; a route that declares no permission must be one of the public ones.
 */
const PUBLIC = new Set(["/healthz", "/readyz", "/metrics"]);
/** Reads every project's entries: global keys only, whatever the role grants. */
const GLOBAL_ONLY = new Set(["/api/audit/verify"]);

describe("RBAC matrix over every mounted route", () => {
  let keel: RunningKeel;
  let fake: FakeOpenAI;
  const keys = new Map<Role, string>();

  before(async () => {
    fake = await startFakeOpenAI({ name: "rbac" });
    keel = await startKeel({
      providers: { up: { type: "openai-compatible", base_url: fake.url } },
      models: [{ name: "chat", deployments: [{ provider: "up", model: "m" }] }],
    });
    const project = await createProject(keel, "rbac");
    keys.set("owner", keel.apiKey);
    for (const role of roles) {
      if (role === "owner") continue;
      keys.set(role, (await createKey(keel, { project_id: project, role })).key);
    }
  });
  after(async () => {
    await keel.close();
    await fake.close();
  });

  test("every route declares a permission or is public", () => {
    assert.ok(keel.keel.routes.length > 10);
    for (const route of keel.keel.routes) {
      if (PUBLIC.has(route.url)) continue;
      assert.ok(route.permission, `${route.method} ${route.url} declares a permission`);
    }
  });

  test("public routes answer without a key", async () => {
    for (const url of PUBLIC) {
      const res = await fetch(`${keel.url}${url}`);
      assert.ok(res.status === 200 || res.status === 503, `${url}: ${res.status}`);
    }
  });

  test("no key and a wrong key are 401 on every keyed route", async () => {
    for (const route of keel.keel.routes.filter((r) => !PUBLIC.has(r.url))) {
      for (const headers of [{}, bearer("sk-keel-wrongwrongwrongwrongwrongwrongwrongwrongwro")]) {
        const res = await call(route.method, route.url, headers);
        assert.equal(res, 401, `${route.method} ${route.url}`);
      }
    }
  });

  for (const role of roles) {
    test(`${role}: allowed exactly where its role grants the route's permission`, async () => {
      const granted = rolePermissions[role] as readonly string[];
      for (const route of keel.keel.routes.filter((r) => !PUBLIC.has(r.url))) {
        const allowed =
          granted.includes(route.permission!) && !(GLOBAL_ONLY.has(route.url) && role !== "owner");
        const status = await call(route.method, route.url, bearer(keys.get(role)!));
        const where = `${role} ${route.method} ${route.url} → ${status}`;
        if (allowed) assert.ok(status !== 401 && status !== 403, where);
        else assert.equal(status, 403, where);
      }
    });
  }

  async function call(method: string, url: string, headers: Record<string, string>) {
    const path = url.replaceAll(/:[a-z_]+/g, "unknown_id").replace("*", "unknown-model");
    const res = await fetch(`${keel.url}${path}`, {
      method,
      headers: {
        ...headers,
        ...(method === "GET" || method === "DELETE" ? {} : { "content-type": "application/json" }),
      },
      ...(method === "GET" || method === "DELETE" ? {} : { body: "{}" }),
    });
    await res.arrayBuffer();
    return res.status;
  }
});
