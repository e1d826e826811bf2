export { createQuotaStore, type CreateQuotaStoreOptions } from "./create-store.ts";
export { type FailureOutcome, type StoreFailure } from "./failure-policy.ts";
export {
  createQuotaGuard,
  type AdmitRequest,
  type QuotaGuard,
  type QuotaGuardOptions,
} from "./guard.ts";
export { createMemoryQuotaStore } from "./memory-store.ts";
export type {
  QuotaDenial,
  QuotaRequest,
  QuotaScope,
  QuotaStore,
  Reservation,
  ReserveResult,
} from "./quota-store.ts";
export {
  createRedisQuotaStore,
  DEFAULT_QUOTA_KEY_PREFIX,
  type RedisQuotaStoreOptions,
} from "./redis-store.ts";
export {
  limitNameSchema,
  limitsSchema,
  quotaFailurePolicySchema,
  quotaScopeKindSchema,
  quotasConfigSchema,
  quotaUsageSchema,
  type LimitName,
  type Limits,
  type QuotaFailurePolicy,
  type QuotaScopeKind,
  type QuotasConfig,
  type QuotaUsage,
} from "./schema.ts";
