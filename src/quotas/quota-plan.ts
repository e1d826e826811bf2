import type { QuotaRequest, QuotaScope, Reservation } from "./quota-store.ts";
import type { LimitName, QuotaScopeKind } from "./schema.ts";

/**
 * Turns scopes and an estimate into the list of counter checks a store runs atomically. Every
 * part that does not depend on the counters' values (key names, window position, TTLs, when a
 * budget period ends) is computed here once, so the in-process store and the Redis script only
 * read counters, compare and add.
 *
 * Counter keys (the store prepends its namespace, `keel:quota:` by default):
 *   {scope}:{id}:rpm:{minute}      requests in one one-minute bucket
 *   {scope}:{id}:tpm:{minute}      tokens in one one-minute bucket
 *   {scope}:{id}:day:{YYYYMMDD}    micro-dollars spent in one UTC day
 *   {scope}:{id}:month:{YYYYMM}    micro-dollars spent in one UTC month
 * Each key expires: a minute bucket once it can no longer be the previous bucket, a budget
 * period a day after it ends (late settlements still land in it).
 */

export const WINDOW_MS = 60_000;
const WINDOW_KEY_SLACK_MS = 10_000;
const PERIOD_KEY_SLACK_MS = 86_400_000;
const MICROS_PER_USD = 1_000_000;

interface CheckBase {
  readonly limit: LimitName;
  readonly scope: QuotaScopeKind;
  readonly scopeId: string;
  /** The configured value, in its own unit (USD for budgets). */
  readonly limitValue: number;
  /** The limit in counter units (requests, tokens, micro-dollars). */
  readonly max: number;
  readonly cost: number;
  readonly ttlMs: number;
}

export interface WindowCheck extends CheckBase {
  readonly type: "window";
  readonly currentKey: string;
  readonly previousKey: string;
  readonly elapsedMs: number;
  readonly windowMs: number;
}

export interface BudgetCheck extends CheckBase {
  readonly type: "budget";
  readonly key: string;
  /** Time left in the budget period: when a refused call may try again. */
  readonly retryAfterMs: number;
}

export type QuotaCheck = WindowCheck | BudgetCheck;

export function planReservation(
  scopes: readonly QuotaScope[],
  request: QuotaRequest,
): QuotaCheck[] {
  const checks: QuotaCheck[] = [];
  for (const scope of scopes) {
    const { requests_per_minute, tokens_per_minute, daily_budget_usd, monthly_budget_usd } =
      scope.limits;
    if (requests_per_minute !== undefined) {
      checks.push(
        windowCheck(scope, "requests_per_minute", "rpm", requests_per_minute, 1, request.now),
      );
    }
    if (tokens_per_minute !== undefined) {
      checks.push(
        windowCheck(
          scope,
          "tokens_per_minute",
          "tpm",
          tokens_per_minute,
          request.tokens,
          request.now,
        ),
      );
    }
    if (daily_budget_usd !== undefined) {
      checks.push(budgetCheck(scope, "daily_budget_usd", daily_budget_usd, request));
    }
    if (monthly_budget_usd !== undefined) {
      checks.push(budgetCheck(scope, "monthly_budget_usd", monthly_budget_usd, request));
    }
  }
  return checks;
}

/** The reservation that a successful reserve of these checks holds. */
export function reservationFor(checks: readonly QuotaCheck[], request: QuotaRequest): Reservation {
  const tokenKeys: string[] = [];
  const spendKeys: string[] = [];
  for (const check of checks) {
    if (check.type === "budget") spendKeys.push(check.key);
    else if (check.limit === "tokens_per_minute") tokenKeys.push(check.currentKey);
  }
  return {
    at: request.now,
    estimate: { tokens: request.tokens, costMicros: request.costMicros },
    tokenKeys,
    spendKeys,
  };
}

function windowCheck(
  scope: QuotaScope,
  limit: LimitName,
  label: string,
  max: number,
  cost: number,
  now: number,
): WindowCheck {
  const bucket = Math.floor(now / WINDOW_MS);
  const start = bucket * WINDOW_MS;
  const base = `${scope.kind}:${scope.id}:${label}:`;
  return {
    type: "window",
    limit,
    scope: scope.kind,
    scopeId: scope.id,
    limitValue: max,
    max,
    cost,
    currentKey: base + String(bucket),
    previousKey: base + String(bucket - 1),
    elapsedMs: now - start,
    windowMs: WINDOW_MS,
    // The bucket is read as "previous" during the next window, then never again.
    ttlMs: start + 2 * WINDOW_MS - now + WINDOW_KEY_SLACK_MS,
  };
}

function budgetCheck(
  scope: QuotaScope,
  limit: "daily_budget_usd" | "monthly_budget_usd",
  usd: number,
  request: QuotaRequest,
): BudgetCheck {
  const period = limit === "daily_budget_usd" ? utcDay(request.now) : utcMonth(request.now);
  return {
    type: "budget",
    limit,
    scope: scope.kind,
    scopeId: scope.id,
    limitValue: usd,
    max: Math.round(usd * MICROS_PER_USD),
    cost: request.costMicros,
    key: `${scope.kind}:${scope.id}:${period.label}`,
    retryAfterMs: period.end - request.now,
    ttlMs: period.end - request.now + PERIOD_KEY_SLACK_MS,
  };
}

interface Period {
  readonly label: string;
  /** The first millisecond of the next period. */
  readonly end: number;
}

export function utcDay(now: number): Period {
  const d = new Date(now);
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  return { label: `day:${y}${pad(m + 1)}${pad(day)}`, end: Date.UTC(y, m, day + 1) };
}

export function utcMonth(now: number): Period {
  const d = new Date(now);
  const [y, m] = [d.getUTCFullYear(), d.getUTCMonth()];
  return { label: `month:${y}${pad(m + 1)}`, end: Date.UTC(y, m + 1, 1) };
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
