import type { Redis } from "ioredis";
import { KeelError } from "../core/errors.ts";
import { planReservation, reservationFor } from "./quota-plan.ts";
import type {
  QuotaRequest,
  QuotaScope,
  QuotaStore,
  Reservation,
  ReserveResult,
} from "./quota-store.ts";
import { RESERVE_SCRIPT, SETTLE_SCRIPT } from "./redis-scripts.ts";
import type { QuotaUsage } from "./schema.ts";

/**
 * Quota counters in Redis, shared by every Keel replica that points at the same server. Each
 * reserve and settle is one Lua script (sent once, then run by its SHA), so limits hold across
 * replicas without locks. Time comes from the caller (`request.now`), not from Redis TIME:
 * tests control windows with a fake clock, and on NTP-synced hosts the skew between replicas
 * (milliseconds) is small against a one-minute window and a UTC day.
 */

export const DEFAULT_QUOTA_KEY_PREFIX = "keel:quota:";

export interface RedisQuotaStoreOptions {
  redis: Redis;
  /** Namespace for every key this store writes. Default `keel:quota:`. */
  keyPrefix?: string;
  /** Quit the client on `close()` (when the store created it). Default false. */
  ownsClient?: boolean;
}

type ScriptReply = (string | number)[];

interface QuotaCommands {
  keelQuotaReserve(numKeys: number, ...args: (string | number)[]): Promise<ScriptReply>;
  keelQuotaSettle(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

export function createRedisQuotaStore(options: RedisQuotaStoreOptions): QuotaStore {
  const { redis } = options;
  const prefix = options.keyPrefix ?? DEFAULT_QUOTA_KEY_PREFIX;
  // defineCommand is idempotent per name on one client; EVALSHA falls back to EVAL on NOSCRIPT.
  redis.defineCommand("keelQuotaReserve", { lua: RESERVE_SCRIPT });
  redis.defineCommand("keelQuotaSettle", { lua: SETTLE_SCRIPT });
  const commands = redis as unknown as QuotaCommands;

  return {
    backend: "redis",
    async reserve(scopes: readonly QuotaScope[], request: QuotaRequest): Promise<ReserveResult> {
      const checks = planReservation(scopes, request);
      if (checks.length === 0) {
        return { allowed: true, reservation: reservationFor(checks, request) };
      }
      const keys: string[] = [];
      const args: (string | number)[] = [checks.length];
      for (const check of checks) {
        if (check.type === "window") {
          keys.push(prefix + check.currentKey, prefix + check.previousKey);
          args.push("w", check.max, check.cost, check.elapsedMs, check.windowMs, check.ttlMs);
        } else {
          keys.push(prefix + check.key);
          args.push("b", check.max, check.cost, check.retryAfterMs, 0, check.ttlMs);
        }
      }
      const reply = await commands.keelQuotaReserve(keys.length, ...keys, ...args);
      if (Number(reply[0]) === 1) {
        return { allowed: true, reservation: reservationFor(checks, request) };
      }
      const check = checks[Number(reply[1]) - 1];
      if (check === undefined) {
        throw new KeelError("internal", `quota script named no known check: ${String(reply[1])}`);
      }
      return {
        allowed: false,
        limit: check.limit,
        scope: check.scope,
        scopeId: check.scopeId,
        limitValue: check.limitValue,
        retryAfterMs: Number(reply[2]),
      };
    },
    async settle(reservation: Reservation, actual: QuotaUsage): Promise<void> {
      const tokenDelta = actual.tokens - reservation.estimate.tokens;
      const spendDelta = actual.costMicros - reservation.estimate.costMicros;
      const keys = [
        ...(tokenDelta === 0 ? [] : reservation.tokenKeys),
        ...(spendDelta === 0 ? [] : reservation.spendKeys),
      ].map((key) => prefix + key);
      if (keys.length === 0) return;
      const tokenKeyCount = tokenDelta === 0 ? 0 : reservation.tokenKeys.length;
      await commands.keelQuotaSettle(keys.length, ...keys, tokenKeyCount, tokenDelta, spendDelta);
    },
    async close(): Promise<void> {
      if (options.ownsClient !== true) return;
      // QUIT waits for a reply, which a client that is not connected never gets.
      if (redis.status === "ready") await redis.quit();
      else redis.disconnect();
    },
  };
}
