import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { QuotaScope } from "./quota-store.ts";
import type { QuotaFailurePolicy } from "./schema.ts";

/**
 * What a call gets when the quota store fails: let through unchecked ("open") or refused
 * ("closed"), from the kinds of limit its scopes carry. See `quotaFailurePolicySchema` for
 * the defaults and why.
 */

export type FailureOutcome = "open" | "closed";

export const defaultFailurePolicy: QuotaFailurePolicy = { rate_limits: "open", budgets: "closed" };

export function failureOutcome(
  scopes: readonly QuotaScope[],
  policy: QuotaFailurePolicy,
): FailureOutcome {
  for (const { limits } of scopes) {
    const rates =
      limits.requests_per_minute !== undefined || limits.tokens_per_minute !== undefined;
    const budgets =
      limits.daily_budget_usd !== undefined || limits.monthly_budget_usd !== undefined;
    if (rates && policy.rate_limits === "closed") return "closed";
    if (budgets && policy.budgets === "closed") return "closed";
  }
  return "open";
}

export interface StoreFailure {
  readonly operation: "reserve" | "settle";
  /** For a reserve: what the call got. For a settle: the correction was lost ("open"). */
  readonly outcome: FailureOutcome;
}

const LOG_INTERVAL_MS = 10_000;

/**
 * Reports store failures: every one to the metric hook, and to the log at most once per ten
 * seconds (an outage under load would otherwise write a line per request), with the number
 * of failures since the last line.
 */
export function createFailureReporter(options: {
  logger: Logger | undefined;
  clock: () => number;
  onStoreFailure: ((failure: StoreFailure) => void) | undefined;
}): (failure: StoreFailure, err: unknown) => void {
  let lastLog = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  return (failure, err) => {
    options.onStoreFailure?.(failure);
    unlogged += 1;
    const now = options.clock();
    if (now - lastLog < LOG_INTERVAL_MS) return;
    lastLog = now;
    options.logger?.warn(
      {
        operation: failure.operation,
        outcome: failure.outcome,
        failures: unlogged,
        err: errorMessage(err),
      },
      failure.operation === "settle"
        ? "quota store failed: usage correction lost"
        : `quota store failed: failing ${failure.outcome}`,
    );
    unlogged = 0;
  };
}
