import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { parseConfig } from "../core/config.ts";
import type { KeelDatabase } from "../core/db/database.ts";
import { createLogger } from "../core/logger.ts";
import { createHttpServer } from "../core/server.ts";
import { healthRoutes, type GatewayReadiness } from "./health-routes.ts";
import { createMetrics } from "./metrics.ts";
import { readinessSchema } from "./schema.ts";

const config = parseConfig({}, { env: {}, source: undefined, overrides: {} });

function fakeDatabase(ping: () => Promise<void>): KeelDatabase {
  return { db: undefined as never, engine: "sqlite", ping, close: () => Promise.resolve() };
}

const healthyGateway: GatewayReadiness = {
  readiness: () =>
    Promise.resolve({ ready: true, models: { "support-bot": { healthy: 2, total: 2 } } }),
};

describe("health and metrics endpoints", () => {
  const apps: FastifyInstance[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });

  async function server(database: KeelDatabase, gateway: GatewayReadiness, checkTimeoutMs = 2_000) {
    const app = createHttpServer(config, createLogger("silent"));
    const metrics = createMetrics();
    await app.register(healthRoutes, { database, gateway, metrics, checkTimeoutMs });
    apps.push(app);
    return { app, metrics };
  }

  test("/healthz answers ok while the process is up, whatever its dependencies say", async () => {
    const { app } = await server(
      fakeDatabase(() => Promise.reject(new Error("down"))),
      healthyGateway,
    );
    const res = await app.inject({ method: "GET", url: "/healthz" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ok" });
  });

  test("/readyz is 200 when the database answers and every model can be served", async () => {
    const { app } = await server(
      fakeDatabase(() => Promise.resolve()),
      healthyGateway,
    );
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 200);
    const body = readinessSchema.parse(res.json());
    assert.equal(body.status, "ready");
    assert.equal(body.checks.database.ok, true);
    assert.equal(body.checks.database.engine, "sqlite");
    assert.deepEqual(body.checks.models["support-bot"], { ok: true, healthy: 2, total: 2 });
  });

  test("/readyz is 503 and names the database when it does not answer", async () => {
    const { app } = await server(
      fakeDatabase(() => Promise.reject(new Error("connection refused"))),
      healthyGateway,
    );
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    const body = readinessSchema.parse(res.json());
    assert.equal(body.status, "not_ready");
    assert.equal(body.checks.database.ok, false);
    assert.match(body.checks.database.error ?? "", /connection refused/);
    assert.equal(body.checks.gateway.ok, true);
  });

  test("/readyz is 503 and names the model without a healthy deployment", async () => {
    const { app } = await server(
      fakeDatabase(() => Promise.resolve()),
      {
        readiness: () =>
          Promise.resolve({
            ready: false,
            models: {
              "support-bot": { healthy: 1, total: 2 },
              summarizer: { healthy: 0, total: 1 },
            },
          }),
      },
    );
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    const body = readinessSchema.parse(res.json());
    assert.equal(body.checks.database.ok, true);
    assert.equal(body.checks.gateway.ok, false);
    assert.deepEqual(body.checks.models.summarizer, { ok: false, healthy: 0, total: 1 });
    assert.equal(body.checks.models["support-bot"]?.ok, true);
  });

  test("/readyz is 503, not a 500, when the readiness check itself throws", async () => {
    const { app } = await server(
      fakeDatabase(() => Promise.resolve()),
      { readiness: () => Promise.reject(new Error("router not built")) },
    );
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.match(readinessSchema.parse(res.json()).checks.gateway.error ?? "", /router not built/);
  });

  test("/readyz answers 503 in bounded time when the database hangs", async () => {
    const { app } = await server(
      fakeDatabase(() => new Promise(() => undefined)),
      healthyGateway,
      50,
    );
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.match(
      readinessSchema.parse(res.json()).checks.database.error ?? "",
      /did not answer within 50 ms/,
    );
  });

  test("/metrics serves the registry in Prometheus text format", async () => {
    const { app, metrics } = await server(
      fakeDatabase(() => Promise.resolve()),
      healthyGateway,
    );
    metrics.traceWritten.inc(3);
    const res = await app.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], metrics.registry.contentType);
    assert.match(res.body, /^# HELP keel_trace_written_total /m);
    assert.match(res.body, /^keel_trace_written_total 3$/m);
    assert.match(res.body, /^keel_process_/m);
  });
});
