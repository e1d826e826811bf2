import { errorMessage } from "../core/errors.ts";
import type { FastifyPluginAsync } from "fastify";
import type { KeelDatabase } from "../core/db/database.ts";
import type { Metrics } from "./metrics.ts";
import type { DatabaseCheck, Liveness, ModelCheck, Readiness } from "./schema.ts";

/** What readiness needs from the gateway (typed here so monitoring does not import it). */
export interface GatewayReadiness {
  readiness(): Promise<{
    ready: boolean;
    models: Record<string, { healthy: number; total: number }>;
  }>;
}

export interface HealthRoutesOptions {
  database: KeelDatabase;
  gateway: GatewayReadiness;
  metrics: Metrics;
  /** A check that has not answered by then fails: a probe must never hang. Default 2 s. */
  checkTimeoutMs?: number;
}

/**
 * `GET /healthz`: the process is up. `GET /readyz`: 200 when the database answers and the
 * gateway can serve, else 503 saying which check failed. `GET /metrics`: Prometheus text.
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = (app, options) => {
  const { database, gateway, metrics } = options;
  const timeoutMs = options.checkTimeoutMs ?? 2_000;

  app.get("/healthz", (): Liveness => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply): Promise<Readiness> => {
    const [db, gw] = await Promise.all([
      checkDatabase(database, timeoutMs),
      checkGateway(gateway, timeoutMs),
    ]);
    const ready = db.ok && gw.ok;
    reply.code(ready ? 200 : 503);
    return {
      status: ready ? "ready" : "not_ready",
      checks: { database: db, gateway: gw.check, models: gw.models },
    };
  });

  app.get("/metrics", async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return Promise.resolve();
};

async function checkDatabase(database: KeelDatabase, timeoutMs: number): Promise<DatabaseCheck> {
  const started = performance.now();
  const result = await settle(database.ping(), "database", timeoutMs);
  const latency_ms = Math.round(performance.now() - started);
  return {
    ok: result.ok,
    engine: database.engine,
    latency_ms,
    ...(result.ok ? {} : { error: result.error }),
  };
}

async function checkGateway(
  gateway: GatewayReadiness,
  timeoutMs: number,
): Promise<{
  ok: boolean;
  check: Readiness["checks"]["gateway"];
  models: Record<string, ModelCheck>;
}> {
  const result = await settle(gateway.readiness(), "gateway", timeoutMs);
  if (!result.ok) return { ok: false, check: { ok: false, error: result.error }, models: {} };
  const models: Record<string, ModelCheck> = {};
  for (const [name, m] of Object.entries(result.value.models)) {
    models[name] = { ok: m.healthy > 0, healthy: m.healthy, total: m.total };
  }
  const ok = result.value.ready;
  return {
    ok,
    check: ok ? { ok } : { ok, error: "not every model has a healthy deployment" },
    models,
  };
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: string };

async function settle<T>(work: Promise<T>, what: string, timeoutMs: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, error: `${what} did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const answer = work.then(
    (value): Settled<T> => ({ ok: true, value }),
    (err: unknown): Settled<T> => ({
      ok: false,
      error: `${what} check failed: ${errorMessage(err)}`,
    }),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
