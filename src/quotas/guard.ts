import { parseInput } from "../core/error-render.ts";
import { KeelError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import {
  createFailureReporter,
  defaultFailurePolicy,
  failureOutcome,
  type StoreFailure,
} from "./failure-policy.ts";
import type { QuotaDenial, QuotaScope, QuotaStore, Reservation } from "./quota-store.ts";
import {
  quotaUsageSchema,
  type Limits,
  type QuotaFailurePolicy,
  type QuotaUsage,
} from "./schema.ts";

/**
 * The gateway's door to quotas: `admit` before the upstream call reserves the call's estimate
 * (input tokens + max_tokens, and its cost) under the key's and the project's limits at once,
 * or refuses it with a 429 naming the limit; `settle` after the call replaces the estimate
 * with what the call really used.
 */

export interface AdmitRequest {
  keyId: string;
  keyLimits?: Limits | undefined;
  projectId: string;
  projectLimits?: Limits | undefined;
  estimate: QuotaUsage;
}

export interface QuotaGuard {
  /** A reservation to settle after the call; throws `rate_limited` (429) over a limit. */
  admit(request: AdmitRequest): Promise<Reservation>;
  /** Never throws: a failed correction is logged and reported to the metric hook. */
  settle(reservation: Reservation, actual: QuotaUsage): Promise<void>;
}

export interface QuotaGuardOptions {
  store: QuotaStore;
  /** Epoch-ms clock; tests pass a fake one. Default `Date.now`. */
  clock?: () => number;
  /** `quotas.on_store_failure` from the config. */
  failurePolicy?: QuotaFailurePolicy;
  logger?: Logger;
  /** Metric hooks: a refused call, a store failure. */
  onDenied?: (denial: QuotaDenial) => void;
  onStoreFailure?: (failure: StoreFailure) => void;
}

export function createQuotaGuard(options: QuotaGuardOptions): QuotaGuard {
  const { store, logger } = options;
  const clock = options.clock ?? Date.now;
  const policy = options.failurePolicy ?? defaultFailurePolicy;
  const reportFailure = createFailureReporter({
    logger,
    clock,
    onStoreFailure: options.onStoreFailure,
  });
  const settled = new WeakSet<Reservation>();

  return {
    async admit(request: AdmitRequest): Promise<Reservation> {
      const estimate = parseInput(quotaUsageSchema, request.estimate, "estimate");
      const now = Math.floor(clock());
      const scopes = scopesOf(request);
      const unchecked: Reservation = { at: now, estimate, tokenKeys: [], spendKeys: [] };
      if (scopes.length === 0) return unchecked;
      let result;
      try {
        result = await store.reserve(scopes, { ...estimate, now });
      } catch (err) {
        const outcome = failureOutcome(scopes, policy);
        reportFailure({ operation: "reserve", outcome }, err);
        if (outcome === "open") return unchecked;
        throw new KeelError(
          "quota_unavailable",
          "the quota store did not answer, so this call's limits cannot be checked; retry shortly",
          { cause: err },
        );
      }
      if (result.allowed) return result.reservation;
      options.onDenied?.(result);
      throw new KeelError("rate_limited", denialMessage(result, estimate, now), {
        retryAfterMs: result.retryAfterMs,
        details: {
          limit: result.limit,
          scope: result.scope,
          scope_id: result.scopeId,
          limit_value: result.limitValue,
          retry_after_ms: result.retryAfterMs,
        },
      });
    },

    async settle(reservation: Reservation, actual: QuotaUsage): Promise<void> {
      if (settled.has(reservation)) return;
      settled.add(reservation);
      if (reservation.tokenKeys.length === 0 && reservation.spendKeys.length === 0) return;
      const parsed = quotaUsageSchema.safeParse(actual);
      if (!parsed.success) {
        // The estimate stays charged: it is the best figure there is for this call.
        logger?.warn({ actual }, "quota settle ignored: usage is not non-negative integers");
        return;
      }
      try {
        await store.settle(reservation, parsed.data);
      } catch (err) {
        reportFailure({ operation: "settle", outcome: "open" }, err);
      }
    },
  };
}

function hasLimits(limits: Limits | undefined): limits is Limits {
  return limits !== undefined && Object.values(limits).some((v) => v !== undefined);
}

function scopesOf(request: AdmitRequest): QuotaScope[] {
  const scopes: QuotaScope[] = [];
  if (hasLimits(request.keyLimits)) {
    scopes.push({ kind: "key", id: request.keyId, limits: request.keyLimits });
  }
  if (hasLimits(request.projectLimits)) {
    scopes.push({ kind: "project", id: request.projectId, limits: request.projectLimits });
  }
  return scopes;
}

/** `project prj_… exceeded tokens_per_minute (10000); retry in 12 s`, and what to change. */
export function denialMessage(denial: QuotaDenial, estimate: QuotaUsage, now: number): string {
  const who = `${denial.scope} ${denial.scopeId}`;
  const limit = `${denial.limit} (${denial.limitValue})`;
  switch (denial.limit) {
    case "requests_per_minute":
      return `${who} exceeded ${limit}; retry in ${seconds(denial.retryAfterMs)} s`;
    case "tokens_per_minute":
      if (estimate.tokens > denial.limitValue) {
        return `${who}: this request may use ${estimate.tokens} tokens (prompt + max_tokens), more than its ${limit} allows at all; lower max_tokens or shorten the prompt`;
      }
      return `${who} exceeded ${limit}; retry in ${seconds(denial.retryAfterMs)} s`;
    case "daily_budget_usd":
    case "monthly_budget_usd": {
      const resets = new Date(now + denial.retryAfterMs).toISOString();
      return `${who} exceeded ${limit} USD; the budget resets at ${resets}`;
    }
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
