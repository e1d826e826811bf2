import { z } from "zod";

/**
 * Usage limits, set on an API key or on a project. Every field is optional: an absent limit is
 * no limit. Budgets are in USD (from the price table) and are enforced in integer micro-dollars.
 */
export const limitsSchema = z
  .object({
    requests_per_minute: z.number().int().positive().optional(),
    tokens_per_minute: z.number().int().positive().optional(),
    daily_budget_usd: z.number().positive().optional(),
    monthly_budget_usd: z.number().positive().optional(),
  })
  .strict();

export type Limits = z.infer<typeof limitsSchema>;

/** The name of one limit: the field of `Limits` that a denied request ran into. */
export const limitNameSchema = z.enum([
  "requests_per_minute",
  "tokens_per_minute",
  "daily_budget_usd",
  "monthly_budget_usd",
]);

export type LimitName = z.infer<typeof limitNameSchema>;

/** Who a limit belongs to: the API key that made the call, or the key's project. */
export const quotaScopeKindSchema = z.enum(["key", "project"]);

export type QuotaScopeKind = z.infer<typeof quotaScopeKindSchema>;

/** Tokens and cost of one call: estimated before it, actual after it. */
export const quotaUsageSchema = z
  .object({
    tokens: z.number().int().nonnegative(),
    costMicros: z.number().int().nonnegative(),
  })
  .strict();

export type QuotaUsage = z.infer<typeof quotaUsageSchema>;

const failureModeSchema = z.enum(["open", "closed"]);

/**
 * What the quota guard does when its store (Redis) cannot answer. `open` lets the call through
 * unchecked, `closed` refuses it with a 503. Defaults: rate limits fail open (they protect
 * capacity, and an outage of the counter store should not become an outage of the gateway);
 * budgets fail closed (they protect money, and nothing bounds the spend of unchecked calls).
 * A call with both kinds of limit fails closed if either kind does.
 */
export const quotaFailurePolicySchema = z
  .object({
    rate_limits: failureModeSchema.default("open"),
    budgets: failureModeSchema.default("closed"),
  })
  .strict();

export type QuotaFailurePolicy = z.infer<typeof quotaFailurePolicySchema>;

/**
 * The `quotas:` section of keel.config.yaml. The store is Redis when `redis.url`
 * (KEEL_REDIS_URL) is set, in process otherwise.
 */
export const quotasConfigSchema = z
  .object({
    on_store_failure: quotaFailurePolicySchema.prefault({}),
    /** How long one Redis round trip may take before it counts as a store failure. */
    redis_timeout_ms: z.number().int().positive().default(500),
  })
  .strict();

export type QuotasConfig = z.infer<typeof quotasConfigSchema>;
