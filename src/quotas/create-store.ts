import { Redis } from "ioredis";
import type { Logger } from "../core/logger.ts";
import { createMemoryQuotaStore } from "./memory-store.ts";
import type { QuotaStore } from "./quota-store.ts";
import { createRedisQuotaStore } from "./redis-store.ts";

export interface CreateQuotaStoreOptions {
  /** `redis.url` from the config (KEEL_REDIS_URL). Without it the counters live in process. */
  redisUrl?: string | undefined;
  /** `quotas.redis_timeout_ms`: the longest one Redis round trip may take. */
  timeoutMs?: number;
  keyPrefix?: string;
  logger?: Logger;
}

/**
 * The quota store for this configuration: Redis when a URL is configured, so that limits hold
 * across replicas; in process otherwise. Redis commands fail fast (one timeout, one retry)
 * instead of queueing behind a dead connection: the guard's failure policy decides what a
 * failure means for the call. Connection trouble is logged once per outage, without the URL
 * (it may carry a password).
 */
export function createQuotaStore(options: CreateQuotaStoreOptions = {}): QuotaStore {
  if (options.redisUrl === undefined) return createMemoryQuotaStore();
  const timeoutMs = options.timeoutMs ?? 500;
  const redis = new Redis(options.redisUrl, {
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 2_000),
    maxRetriesPerRequest: 1,
  });
  let healthy = true;
  redis.on("error", (err: Error) => {
    if (!healthy) return;
    healthy = false;
    options.logger?.warn({ err: err.message }, "quota store: Redis connection failed");
  });
  redis.on("ready", () => {
    if (healthy) return;
    healthy = true;
    options.logger?.info("quota store: Redis connection restored");
  });
  return createRedisQuotaStore({
    redis,
    ownsClient: true,
    ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
  });
}
