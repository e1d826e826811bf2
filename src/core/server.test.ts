import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { parseConfig } from "./config.ts";
import { parseInput } from "./error-render.ts";
import { KeelError } from "./errors.ts";
import { createLogger } from "./logger.ts";
import { createHttpServer } from "./server.ts";

function server(logLines?: Record<string, unknown>[], requestLog = true) {
  const config = parseConfig(
    { server: { body_limit_bytes: 1024, request_log: requestLog } },
    { env: {}, source: undefined, overrides: {} },
  );
  const logger =
    logLines === undefined
      ? createLogger("silent")
      : createLogger("info", {
          write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
        });
  const app = createHttpServer(config, logger);
  const schema = z.object({ name: z.string(), size: z.number().int() });
  app.post("/api/things", async (request) => parseInput(schema, request.body));
  app.post("/v1/things", async (request) => parseInput(schema, request.body));
  app.get("/api/boom", async () => {
    throw new Error("secret internals");
  });
  app.get("/api/cached", async (_request, reply) => {
    reply.header("cache-control", "max-age=60");
    return { ok: true };
  });
  app.get("/api/limited", async () => {
    throw new KeelError("rate_limited", "slow down", { retryAfterMs: 2500 });
  });
  return app;
}

describe("HTTP server errors", () => {
  test("malformed JSON is a 400 problem+json on /api", async () => {
    const res = await server().inject({
      method: "POST",
      url: "/api/things",
      headers: { "content-type": "application/json" },
      payload: '{"name": ',
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.headers["content-type"] as string, /application\/problem\+json/);
    const body = res.json<{ code: string; detail: string; instance: string }>();
    assert.equal(body.code, "invalid_json");
    assert.match(body.detail, /not valid JSON/);
    assert.equal(body.instance, res.headers["x-request-id"]);
  });

  test("malformed JSON is a 400 OpenAI error object on /v1", async () => {
    const res = await server().inject({
      method: "POST",
      url: "/v1/things",
      headers: { "content-type": "application/json" },
      payload: "{",
    });
    assert.equal(res.statusCode, 400);
    const body = res.json<{ error: { code: string; type: string; param: null } }>();
    assert.equal(body.error.code, "invalid_json");
    assert.equal(body.error.type, "invalid_request_error");
  });

  test("a wrong type names the field", async () => {
    const res = await server().inject({
      method: "POST",
      url: "/v1/things",
      payload: { name: "a", size: "big" },
    });
    assert.equal(res.statusCode, 400);
    const body = res.json<{ error: { message: string; param: string } }>();
    assert.equal(body.error.param, "size");
    assert.match(body.error.message, /^size: /);
  });

  test("a missing field names the field", async () => {
    const res = await server().inject({ method: "POST", url: "/api/things", payload: { size: 1 } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ param: string }>().param, "name");
  });

  test("an oversized body is a 413", async () => {
    const res = await server().inject({
      method: "POST",
      url: "/api/things",
      payload: { name: "x".repeat(4096), size: 1 },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json<{ code: string }>().code, "body_too_large");
  });

  test("a non-JSON content type is a 415", async () => {
    const res = await server().inject({
      method: "POST",
      url: "/api/things",
      headers: { "content-type": "application/xml" },
      payload: "<a/>",
    });
    assert.equal(res.statusCode, 415);
  });

  test("an unknown route is a 404 that names it", async () => {
    const res = await server().inject({ method: "GET", url: "/api/nope?x=1" });
    assert.equal(res.statusCode, 404);
    assert.match(res.json<{ detail: string }>().detail, /GET \/api\/nope$/);
  });

  test("an unexpected error is a 500 without internals", async () => {
    const res = await server().inject({ method: "GET", url: "/api/boom" });
    assert.equal(res.statusCode, 500);
    assert.doesNotMatch(res.body, /secret internals/);
  });

  test("429 carries Retry-After in seconds", async () => {
    const res = await server().inject({ method: "GET", url: "/api/limited" });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers["retry-after"], "3");
  });

  test("a plain caller request id is kept, a hostile one replaced", async () => {
    const app = server();
    const kept = await app.inject({
      method: "GET",
      url: "/api/x",
      headers: { "x-request-id": "abc-123" },
    });
    assert.equal(kept.headers["x-request-id"], "abc-123");
    const replaced = await app.inject({
      method: "GET",
      url: "/api/x",
      headers: { "x-request-id": "a\u0000b<script>" },
    });
    assert.match(replaced.headers["x-request-id"] as string, /^req_/);
  });

  test("responses carry security headers", async () => {
    const res = await server().inject({ method: "GET", url: "/api/x" });
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.equal(res.headers["x-frame-options"], "DENY");
  });

  test("errors, 404s and hijacked answers carry the security headers and request id too", async () => {
    const app = server();
    app.get("/api/raw", (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, reply.getHeaders() as Record<string, string>);
      reply.raw.end("raw");
    });
    for (const url of ["/api/boom", "/api/nope", "/api/raw"]) {
      const res = await app.inject({ method: "GET", url });
      assert.equal(res.headers["x-content-type-options"], "nosniff", url);
      assert.equal(res.headers["x-frame-options"], "DENY", url);
      assert.equal(res.headers["referrer-policy"], "no-referrer", url);
      assert.equal(res.headers["cache-control"], "no-store", url);
      assert.match(res.headers["x-request-id"] as string, /^req_/, url);
    }
  });

  test("a route's own cache-control wins over the no-store default", async () => {
    const res = await server().inject({ method: "GET", url: "/api/cached" });
    assert.equal(res.headers["cache-control"], "max-age=60");
  });
});

describe("request log", () => {
  test("every finished request is logged once at info with its route, status and time", async () => {
    const lines: Record<string, unknown>[] = [];
    const app = server(lines);
    await app.inject({ method: "POST", url: "/api/things", payload: { name: "a", size: 1 } });
    await app.inject({
      method: "GET",
      url: "/api/nope?secret=1",
      headers: { "x-request-id": "abc-123" },
    });
    const requests = lines.filter((line) => line.msg === "request");
    assert.equal(requests.length, 2);
    const [ok, missing] = requests;
    assert.equal(ok?.level, 30);
    assert.equal(ok?.method, "POST");
    assert.equal(ok?.url, "/api/things");
    assert.equal(ok?.status, 200);
    assert.equal(typeof ok?.ms, "number");
    assert.match(String(ok?.reqId), /^req_/);
    // An unknown route is logged by its path, without the query string.
    assert.equal(missing?.url, "/api/nope");
    assert.equal(missing?.status, 404);
    assert.equal(missing?.reqId, "abc-123");
    // Fastify's own per-request lines stay off.
    assert.equal(lines.length, 2);
  });

  test("server.request_log: false leaves the line out, not the errors", async () => {
    const lines: Record<string, unknown>[] = [];
    const app = server(lines, false);
    await app.inject({ method: "POST", url: "/api/things", payload: { name: "a", size: 1 } });
    await app.inject({ method: "GET", url: "/api/boom" });
    assert.deepEqual(
      lines.map((line) => line.msg),
      ["request failed"],
    );
  });
});
