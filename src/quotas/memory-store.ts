import { planReservation, reservationFor, type QuotaCheck } from "./quota-plan.ts";
import type {
  QuotaDenial,
  QuotaRequest,
  QuotaScope,
  QuotaStore,
  Reservation,
  ReserveResult,
} from "./quota-store.ts";
import type { QuotaUsage } from "./schema.ts";
import { exceedsLimit, windowRetryAfterMs, windowUsage } from "./sliding-window.ts";

/**
 * Quota counters in this process: for a single Keel, or when no Redis is configured. A reserve
 * runs synchronously from check to add, so concurrent calls on the event loop cannot interleave
 * inside it. Counters expire by the clock the caller passes; expired ones are swept at most
 * once per sweep interval, so memory stays bounded by the keys active in the last day.
 */

const SWEEP_INTERVAL_MS = 10_000;

interface Counter {
  value: number;
  expiresAt: number;
}

export function createMemoryQuotaStore(): QuotaStore {
  const counters = new Map<string, Counter>();
  let lastSweep = Number.NEGATIVE_INFINITY;

  const read = (key: string, now: number): number => {
    const counter = counters.get(key);
    return counter !== undefined && counter.expiresAt > now ? counter.value : 0;
  };

  const add = (key: string, amount: number, now: number, ttlMs: number): void => {
    const counter = counters.get(key);
    if (counter !== undefined && counter.expiresAt > now) {
      counter.value += amount;
      counter.expiresAt = now + ttlMs;
    } else {
      counters.set(key, { value: amount, expiresAt: now + ttlMs });
    }
  };

  const sweep = (now: number): void => {
    if (now - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = now;
    for (const [key, counter] of counters) {
      if (counter.expiresAt <= now) counters.delete(key);
    }
  };

  /** The wait before this check could pass, or undefined when it passes now. */
  const refusal = (check: QuotaCheck, now: number): number | undefined => {
    if (check.type === "budget") {
      const spent = read(check.key, now);
      return exceedsLimit(spent, check.cost, check.max) ? check.retryAfterMs : undefined;
    }
    const previous = read(check.previousKey, now);
    const current = read(check.currentKey, now);
    const used = windowUsage(previous, current, check.elapsedMs, check.windowMs);
    if (!exceedsLimit(used, check.cost, check.max)) return undefined;
    return windowRetryAfterMs(
      previous,
      current,
      check.cost,
      check.max,
      check.elapsedMs,
      check.windowMs,
    );
  };

  const adjust = (key: string, delta: number): void => {
    // A counter already gone (its window or period is over) is not brought back.
    const counter = counters.get(key);
    if (counter !== undefined) counter.value = Math.max(0, counter.value + delta);
  };

  return {
    backend: "memory",
    reserve(scopes: readonly QuotaScope[], request: QuotaRequest): Promise<ReserveResult> {
      const now = request.now;
      sweep(now);
      const checks = planReservation(scopes, request);
      let denial: QuotaDenial | undefined;
      for (const check of checks) {
        const retryAfterMs = refusal(check, now);
        if (retryAfterMs === undefined) continue;
        if (denial === undefined || retryAfterMs > denial.retryAfterMs) {
          denial = {
            allowed: false,
            limit: check.limit,
            scope: check.scope,
            scopeId: check.scopeId,
            limitValue: check.limitValue,
            retryAfterMs,
          };
        }
      }
      if (denial !== undefined) return Promise.resolve(denial);
      for (const check of checks) {
        const key = check.type === "budget" ? check.key : check.currentKey;
        add(key, check.cost, now, check.ttlMs);
      }
      return Promise.resolve({ allowed: true, reservation: reservationFor(checks, request) });
    },
    settle(reservation: Reservation, actual: QuotaUsage): Promise<void> {
      const tokenDelta = actual.tokens - reservation.estimate.tokens;
      const spendDelta = actual.costMicros - reservation.estimate.costMicros;
      if (tokenDelta !== 0) for (const key of reservation.tokenKeys) adjust(key, tokenDelta);
      if (spendDelta !== 0) for (const key of reservation.spendKeys) adjust(key, spendDelta);
      return Promise.resolve();
    },
    close(): Promise<void> {
      counters.clear();
      return Promise.resolve();
    },
  };
}
