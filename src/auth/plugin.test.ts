import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createAuthApp, type AuthApp } from "../../test/fixtures/auth-app.ts";
import { openSqliteTestDatabase } from "../../test/helpers/engines.ts";
import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/logger.ts";
import { createHttpServer } from "../core/server.ts";
import { authPlugin } from "./plugin.ts";
import { authConfigSchema } from "./schema.ts";
import { createAuthService } from "./service.ts";

interface Problem {
  code: string;
  detail: string;
  param?: string;
}

describe("request identity", () => {
  let t: AuthApp;
  before(async () => {
    t = await createAuthApp();
  });
  after(async () => t.close());

  test("health and readiness answer without a key", async () => {
    for (const url of ["/healthz", "/readyz"]) {
      const res = await t.call(undefined, "GET", url);
      assert.equal(res.statusCode, 200, url);
    }
  });

  test("/metrics is public by default", async () => {
    assert.equal((await t.call(undefined, "GET", "/metrics")).statusCode, 200);
  });

  test("a request without Authorization is a 401 that says the key is missing", async () => {
    const res = await t.call(undefined, "GET", "/api/projects");
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers["www-authenticate"], 'Bearer realm="keel"');
    const body = res.json<Problem>();
    assert.equal(body.code, "unauthorized");
    assert.match(body.detail, /missing API key/);
  });

  test("on /v1 the 401 is an OpenAI error object", async () => {
    const res = await t.call(undefined, "POST", "/v1/chat/completions", { model: "small" });
    assert.equal(res.statusCode, 401);
    const body = res.json<{ error: { code: string; type: string } }>();
    assert.equal(body.error.code, "unauthorized");
    assert.equal(body.error.type, "authentication_error");
  });

  test("a header that is not Bearer says so", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/projects",
      headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
    });
    assert.equal(res.statusCode, 401);
    assert.match(res.json<Problem>().detail, /must be "Bearer <API key>"/);
  });

  test("a string that is not a Keel key is rejected with the expected format", async () => {
    const res = await t.call("sk-openai-123", "GET", "/api/projects");
    assert.equal(res.statusCode, 401);
    assert.match(res.json<Problem>().detail, /sk-keel- followed by/);
  });

  test("an unknown key is invalid, without naming any key id", async () => {
    const res = await t.call(`sk-keel-${"x".repeat(43)}`, "GET", "/api/projects");
    assert.equal(res.statusCode, 401);
    const body = res.json<Problem>();
    assert.match(body.detail, /invalid API key/);
    assert.doesNotMatch(res.body, /key_[0-9A-Z]/);
  });

  test("the Bearer scheme is case-insensitive", async () => {
    const res = await t.app.inject({
      method: "GET",
      url: "/api/projects",
      headers: { authorization: `bearer ${t.ownerKey}` },
    });
    assert.equal(res.statusCode, 200);
  });

  test("unknown routes need a key first, then answer 404", async () => {
    assert.equal((await t.call(undefined, "GET", "/api/nothing-here")).statusCode, 401);
    assert.equal((await t.call(t.ownerKey, "GET", "/api/nothing-here")).statusCode, 404);
  });

  test("a route that declares no permission is denied even to the owner", async () => {
    const res = await t.call(t.ownerKey, "GET", "/api/undeclared");
    assert.equal(res.statusCode, 403);
    assert.match(res.json<Problem>().detail, /declares no permission/);
    assert.doesNotMatch(res.body, /leaked/);
  });

  test("a missing permission is a 403 that names it", async () => {
    const res = await t.call(t.keys.a.viewer.key, "POST", "/api/keys", {
      name: "x",
      role: "viewer",
    });
    assert.equal(res.statusCode, 403);
    const body = res.json<Problem>();
    assert.equal(body.code, "forbidden");
    assert.match(body.detail, /lacks the keys:write permission/);
  });

  test("a key limited to some models cannot call others, and lists only its own", async () => {
    const created = await t.call(t.keys.a.admin.key, "POST", "/api/keys", {
      name: "small only",
      role: "service",
      models: ["small"],
    });
    assert.equal(created.statusCode, 201, created.body);
    const key = created.json<{ key: string }>().key;
    const ok = await t.call(key, "POST", "/v1/chat/completions", { model: "small" });
    assert.equal(ok.statusCode, 200);
    const denied = await t.call(key, "POST", "/v1/chat/completions", { model: "large" });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json<{ error: { message: string } }>().error.message, /limited to: small/);
    const models = await t.call(key, "GET", "/v1/models");
    assert.deepEqual(models.json(), { data: [{ id: "small" }] });
  });

  test("the key never appears in an error answer", async () => {
    const res = await t.call(t.keys.a.service.key, "GET", "/api/keys");
    assert.equal(res.statusCode, 403);
    assert.ok(!res.body.includes(t.keys.a.service.key));
  });
});

describe("request identity with metrics behind a key", () => {
  let t: AuthApp;
  before(async () => {
    t = await createAuthApp({ auth: { metrics_public: false } });
  });
  after(async () => t.close());

  test("/metrics needs a key with metrics:read", async () => {
    assert.equal((await t.call(undefined, "GET", "/metrics")).statusCode, 401);
    assert.equal((await t.call(t.keys.a.viewer.key, "GET", "/metrics")).statusCode, 200);
    assert.equal((await t.call(t.keys.a.service.key, "GET", "/metrics")).statusCode, 403);
  });

  test("health stays public", async () => {
    assert.equal((await t.call(undefined, "GET", "/healthz")).statusCode, 200);
  });
});

describe("request identity with auth disabled", () => {
  let t: AuthApp;
  before(async () => {
    t = await createAuthApp({ auth: { enabled: false } });
  });
  after(async () => t.close());

  test("every request acts as a global owner", async () => {
    const res = await t.call(undefined, "GET", "/api/projects");
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<{ data: unknown[] }>().data.length, 2);
  });

  test("undeclared routes are still denied", async () => {
    assert.equal((await t.call(undefined, "GET", "/api/undeclared")).statusCode, 403);
  });
});

describe("auth plugin registration", () => {
  test("guards routes of plugins registered before it as well as after", async () => {
    const database = await openSqliteTestDatabase();
    try {
      const app = createHttpServer(
        parseConfig({}, { env: {}, source: undefined, overrides: {} }),
        createLogger("silent"),
      );
      await app.register(async (child) => {
        child.get("/api/early", { config: { permission: "traces:read" } }, async () => "early");
      });
      const service = createAuthService({ db: database.db });
      await app.register(authPlugin, { service, config: authConfigSchema.parse({}) });
      await app.register(async (child) => {
        child.get("/api/late", { config: { permission: "traces:read" } }, async () => "late");
      });
      assert.equal((await app.inject({ method: "GET", url: "/api/early" })).statusCode, 401);
      assert.equal((await app.inject({ method: "GET", url: "/api/late" })).statusCode, 401);
      await app.close();
    } finally {
      await database.dispose();
    }
  });
});
