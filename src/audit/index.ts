export { auditRoutes } from "./routes.ts";
export { createAuditService, type AuditService, type AuditServiceOptions } from "./service.ts";
export {
  createAuditQueue,
  DROPPED_ACTION,
  type AuditQueue,
  type AuditQueueOptions,
  type AuditQueueStats,
} from "./queue.ts";
export {
  auditEntrySchema,
  auditPageSchema,
  auditVerifyResultSchema,
  type AuditEntry,
  type AuditEvent,
  type AuditOutcome,
  type AuditPage,
  type AuditVerifyResult,
  type ChainBreak,
} from "./schema.ts";
export { auditHook, auditEventFor } from "./http-hook.ts";
