import type { LimitName, Limits, QuotaScopeKind, QuotaUsage } from "./schema.ts";

/**
 * The contract between the quota guard and its counter stores (in process, Redis). A store
 * answers one question atomically: may this call reserve its estimate under every limit of
 * every scope, and if so, reserve it everywhere at once.
 */

/** One owner of limits: an API key or a project. */
export interface QuotaScope {
  readonly kind: QuotaScopeKind;
  readonly id: string;
  readonly limits: Limits;
}

/** The estimate a call reserves, and the time (epoch ms) it is made at. */
export interface QuotaRequest extends QuotaUsage {
  readonly now: number;
}

/**
 * What a call holds between `reserve` and `settle`. Plain data: the counters it was added to,
 * so settling corrects exactly those. A reservation never settled keeps its estimate until the
 * counters themselves expire (the end of the rate window, a day after the budget period).
 */
export interface Reservation {
  readonly at: number;
  readonly estimate: QuotaUsage;
  /** Tokens-per-minute counters that hold `estimate.tokens`. */
  readonly tokenKeys: readonly string[];
  /** Daily and monthly spend counters that hold `estimate.costMicros`. */
  readonly spendKeys: readonly string[];
}

export interface QuotaDenial {
  readonly allowed: false;
  readonly limit: LimitName;
  readonly scope: QuotaScopeKind;
  readonly scopeId: string;
  /** The configured value of the limit, in its own unit (requests, tokens or USD). */
  readonly limitValue: number;
  /** When a retry may succeed; the longest wait when several limits refuse the call. */
  readonly retryAfterMs: number;
}

export type ReserveResult =
  { readonly allowed: true; readonly reservation: Reservation } | QuotaDenial;

export interface QuotaStore {
  readonly backend: "memory" | "redis";
  /**
   * Checks and reserves across all scopes in one atomic step: either the estimate is added to
   * every counter, or (when any limit would be exceeded) to none.
   */
  reserve(scopes: readonly QuotaScope[], request: QuotaRequest): Promise<ReserveResult>;
  /** Replaces the reserved estimate with the actual usage (a refund or an extra charge). */
  settle(reservation: Reservation, actual: QuotaUsage): Promise<void>;
  close(): Promise<void>;
}
