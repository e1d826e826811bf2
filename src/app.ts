import type { FastifyInstance } from "fastify";
import { auditHook, auditRoutes, createAuditQueue, createAuditService } from "./audit/index.ts";
import { authPlugin, authRoutes, bootstrapAdminKey, createAuthService } from "./auth/index.ts";
import { dataDir, type Config } from "./core/config.ts";
import { openDatabase, type KeelDatabase } from "./core/db/database.ts";
import { loadKeyring } from "./core/master-key-file.ts";
import { createLogger, flushLogger, type Logger } from "./core/logger.ts";
import { createHttpServer } from "./core/server.ts";
import { createGateway, type Gateway } from "./gateway/index.ts";
import { gatewayRoutes } from "./gateway/index.ts";
import { createMetrics, type Metrics } from "./monitoring/metrics.ts";
import { healthRoutes } from "./monitoring/index.ts";
import { createProviders, type ProviderSet } from "./providers/index.ts";
import { createQuotaGuard, createQuotaStore, type QuotaGuard } from "./quotas/index.ts";
import {
  createTracePruner,
  createTraceWriter,
  traceRoutes,
  type TraceWriter,
} from "./traces/index.ts";

/**
 * The composition root: opens storage, builds the domains and mounts their routes on one
 * HTTP server. `keel serve` and the end-to-end tests both start Keel through here.
 */
export interface Keel {
  readonly config: Config;
  readonly http: FastifyInstance;
  readonly database: KeelDatabase;
  readonly gateway: Gateway;
  readonly traces: TraceWriter;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Every route mounted, with the permission it declares (the RBAC tests walk this list). */
  readonly routes: readonly MountedRoute[];
  /** Listens and resolves with the bound address (`http://host:port`). */
  listen(): Promise<string>;
  /**
   * Graceful stop: refuse new requests, let in-flight requests and streams finish until the
   * grace deadline (then end open streams cleanly), flush traces, close providers and storage.
   */
  close(): Promise<void>;
}

export interface MountedRoute {
  method: string;
  url: string;
  permission: string | undefined;
}

export interface CreateKeelOptions {
  logger?: Logger;
  /**
   * Shows the generated first-start admin key to the operator (the terminal, never the log).
   * Called at most once in the life of a database.
   */
  printAdminKey?: (key: string) => void;
}

export async function createKeel(config: Config, options: CreateKeelOptions = {}): Promise<Keel> {
  const logger = options.logger ?? createLogger(config.server.log_level);
  const dir = dataDir(config);
  // KEEL_MASTER_KEY (and _PREVIOUS), or the key files in the data dir (created with mode 0600
  // on first start; a staged or previous key from a rotation is loaded too).
  const keyring = loadKeyring({
    dataDir: dir,
    masterKey: config.masterKey,
    previousKeys: config.previousMasterKey === undefined ? [] : [config.previousMasterKey],
  });
  const database = await openDatabase({ url: config.database.url, dataDir: dir, logger });
  const metrics = createMetrics();
  const traces = createTraceWriter({
    db: database.db,
    metrics,
    logger,
    config: config.traces,
    keyring,
  });
  const pruner = createTracePruner({
    db: database.db,
    config: config.traces,
    logger,
    onPruned: (result) => metrics.tracePruned.inc(result.deleted),
    onFailed: () => metrics.tracePruneFailures.inc(),
  });
  const providers: ProviderSet = createProviders(config, { dataDir: dir, logger });
  const quotas = createQuotas(config, logger, metrics);
  const gateway = createGateway({
    config,
    providers,
    traces,
    metrics,
    logger,
    quotas,
    masterKey: keyring.primary,
  });

  const auth = createAuthService({
    db: database.db,
    keyCacheMs: config.auth.key_cache_ms,
    revocationCheckMs: config.auth.revocation_check_ms,
  });
  await bootstrapAdminKey({
    service: auth,
    adminKey: config.adminKey,
    print: options.printAdminKey ?? (() => undefined),
  });
  const audit = createAuditQueue({
    service: createAuditService(database.db),
    logger: logger.child({ component: "audit" }),
  });

  const http = createHttpServer(config, logger);
  const routes: MountedRoute[] = [];
  http.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) {
      if (method === "HEAD") continue;
      routes.push({ method, url: route.url, permission: route.config?.permission });
    }
  });
  await http.register(authPlugin, { service: auth, config: config.auth });
  await http.register(auditHook, { queue: audit });
  await http.register(healthRoutes, { database, gateway, metrics });
  await http.register(authRoutes, { service: auth });
  await http.register(auditRoutes, { db: database.db });
  await http.register(gatewayRoutes, { gateway });
  await http.register(traceRoutes, { db: database.db, keyring });

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const grace = config.server.shutdown_grace_ms;
    const deadline = setTimeout(() => {
      logger.warn({ grace_ms: grace }, "shutdown deadline reached: ending open streams");
      gateway.abortAll();
      // Give the ended streams a moment to flush their final event, then cut what is left.
      setTimeout(() => http.server.closeAllConnections(), 500).unref();
    }, grace);
    deadline.unref();
    try {
      await http.close();
    } finally {
      clearTimeout(deadline);
    }
    await providers.close();
    await pruner.close();
    await traces.close();
    await audit.close();
    await quotas.close();
    await database.close();
    logger.info("keel stopped");
    await flushLogger(logger);
  };

  return {
    config,
    http,
    database,
    gateway,
    traces,
    metrics,
    logger,
    routes,
    listen: async () => {
      const address = await http.listen({ host: config.server.host, port: config.server.port });
      // Warm local models in the background: /readyz reports when they are loaded.
      void providers.warmup();
      pruner.start();
      return address;
    },
    close: () => (closing ??= close()),
  };
}

/** The quota guard on Redis when `redis.url` is set (limits hold across replicas), else in process. */
function createQuotas(
  config: Config,
  logger: Logger,
  metrics: Metrics,
): QuotaGuard & { close(): Promise<void> } {
  const store = createQuotaStore({
    redisUrl: config.redis.url,
    timeoutMs: config.quotas.redis_timeout_ms,
    logger: logger.child({ component: "quotas" }),
  });
  const guard = createQuotaGuard({
    store,
    failurePolicy: config.quotas.on_store_failure,
    logger: logger.child({ component: "quotas" }),
    onDenied: (denial) => metrics.quotaDenials.inc({ limit: denial.limit, scope: denial.scope }),
    onStoreFailure: (failure) =>
      metrics.quotaStoreFailures.inc({ operation: failure.operation, outcome: failure.outcome }),
  });
  return Object.assign(guard, { close: () => store.close() });
}
