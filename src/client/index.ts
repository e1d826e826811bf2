export {
  connect,
  createClient,
  type ChatOptions,
  type ClientOptions,
  type KeelClient,
  type TraceListParams,
} from "./client.ts";
export { connectAuth, createAuthClient, type AuthClient } from "./auth-client.ts";
export {
  connectAudit,
  createAuditClient,
  type AuditClient,
  type AuditFilter,
  type AuditListQuery,
} from "./audit-client.ts";
