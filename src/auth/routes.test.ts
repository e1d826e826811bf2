import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createAuthApp, type AuthApp } from "../../test/fixtures/auth-app.ts";

interface Problem {
  code: string;
  param?: string;
  detail: string;
}

describe("projects and keys API", () => {
  let t: AuthApp;
  before(async () => {
    t = await createAuthApp();
  });
  after(async () => t.close());

  test("POST /api/projects answers 201 {id, name}", async () => {
    const res = await t.call(t.ownerKey, "POST", "/api/projects", { name: "web-shop" });
    assert.equal(res.statusCode, 201);
    const body = res.json<{ id: string; name: string; limits: null }>();
    assert.match(body.id, /^prj_/);
    assert.equal(body.name, "web-shop");
    assert.equal(body.limits, null);
  });

  test("POST /api/keys shows the key once; GET shows the prefix, never the key or hash", async () => {
    const res = await t.call(t.keys.a.admin.key, "POST", "/api/keys", {
      name: "deploy",
      role: "developer",
      expires_at: new Date(t.clock.now + 86_400_000).toISOString(),
    });
    assert.equal(res.statusCode, 201);
    const created = res.json<{ id: string; key: string; prefix: string; project_id: string }>();
    assert.equal(created.project_id, t.projects.a.id);
    assert.ok(created.key.startsWith(created.prefix));
    const shown = await t.call(t.keys.a.admin.key, "GET", `/api/keys/${created.id}`);
    assert.equal(shown.statusCode, 200);
    assert.ok(!shown.body.includes(created.key.slice(12)));
    assert.ok(!("key" in shown.json<object>()) && !("hash" in shown.json<object>()));
    assert.equal(shown.json<{ status: string }>().status, "active");
  });

  test("DELETE /api/keys/:id revokes at once and is idempotent", async () => {
    const created = await t.call(t.keys.a.admin.key, "POST", "/api/keys", {
      name: "tmp",
      role: "viewer",
    });
    const { id, key } = created.json<{ id: string; key: string }>();
    // Used first, so the key sits in the server's key cache (on by default) when revoked.
    assert.equal((await t.call(key, "GET", "/api/projects")).statusCode, 200);
    const first = await t.call(t.keys.a.admin.key, "DELETE", `/api/keys/${id}`);
    assert.equal(first.statusCode, 200);
    assert.equal(first.json<{ status: string }>().status, "revoked");
    assert.equal((await t.call(key, "GET", "/api/projects")).statusCode, 401);
    const second = await t.call(t.keys.a.admin.key, "DELETE", `/api/keys/${id}`);
    assert.equal(second.statusCode, 200);
    assert.equal(
      second.json<{ revoked_at: string }>().revoked_at,
      first.json<{ revoked_at: string }>().revoked_at,
    );
    const listed = await t.call(t.keys.a.admin.key, "GET", "/api/keys");
    assert.ok(!listed.json<{ data: { id: string }[] }>().data.some((k) => k.id === id));
    const all = await t.call(t.keys.a.admin.key, "GET", "/api/keys?include_revoked=true");
    assert.ok(all.json<{ data: { id: string }[] }>().data.some((k) => k.id === id));
  });

  test("POST /api/keys/:id/rotate without a body revokes the old key", async () => {
    const created = await t.call(t.keys.a.admin.key, "POST", "/api/keys", {
      name: "r",
      role: "viewer",
    });
    const old = created.json<{ id: string; key: string }>();
    const res = await t.app.inject({
      method: "POST",
      url: `/api/keys/${old.id}/rotate`,
      headers: { authorization: `Bearer ${t.keys.a.admin.key}` },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json<{ rotated_from: string }>().rotated_from, old.id);
    assert.equal((await t.call(old.key, "GET", "/api/projects")).statusCode, 401);
  });

  const badInputs: { name: string; url: string; body: unknown; param: string; status?: number }[] =
    [
      {
        name: "a project name with spaces",
        url: "/api/projects",
        body: { name: "a b" },
        param: "name",
      },
      { name: "a project without a name", url: "/api/projects", body: {}, param: "name" },
      {
        name: "an unknown project field",
        url: "/api/projects",
        body: { name: "x", owner: 1 },
        param: "",
      },
      {
        name: "an unknown role",
        url: "/api/keys",
        body: { name: "k", role: "root" },
        param: "role",
      },
      {
        name: "an empty key name",
        url: "/api/keys",
        body: { name: " ", role: "viewer" },
        param: "name",
      },
      {
        name: "a malformed expiry",
        url: "/api/keys",
        body: { name: "k", role: "viewer", expires_at: "tomorrow" },
        param: "expires_at",
      },
      {
        name: "an expiry in the past",
        url: "/api/keys",
        body: { name: "k", role: "viewer", expires_at: "2001-01-01T00:00:00Z" },
        param: "expires_at",
      },
      {
        name: "an empty model list",
        url: "/api/keys",
        body: { name: "k", role: "viewer", models: [] },
        param: "models",
      },
      {
        name: "bad limits",
        url: "/api/keys",
        body: { name: "k", role: "viewer", limits: { requests_per_minute: -1 } },
        param: "limits.requests_per_minute",
      },
    ];
  for (const bad of badInputs) {
    test(`${bad.name} is a 400 naming the field`, async () => {
      const res = await t.call(t.ownerKey, "POST", bad.url, bad.body);
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json<Problem>();
      assert.equal(body.code, "invalid_request");
      if (bad.param !== "") assert.equal(body.param, bad.param);
    });
  }

  test("a rotate grace beyond 7 days is a 400 naming grace_seconds", async () => {
    const res = await t.call(t.ownerKey, "POST", `/api/keys/${t.keys.a.viewer.id}/rotate`, {
      grace_seconds: 700_000,
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<Problem>().param, "grace_seconds");
  });

  test("a taken project name is a 409", async () => {
    const res = await t.call(t.ownerKey, "POST", "/api/projects", { name: "project-a" });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json<Problem>().param, "name");
  });
});
