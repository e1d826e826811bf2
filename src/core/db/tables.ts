import type { Generated } from "kysely";

/**
 * The typed shape of Keel's tables, for Kysely. Times are epoch milliseconds, money is integer
 * micro-dollars, JSON is stored as text. One migration set (./migrations) creates these on
 * SQLite and PostgreSQL alike.
 */
export interface TracesTable {
  id: string;
  project_id: string | null;
  request_id: string;
  endpoint: string;
  model: string;
  status: "ok" | "error";
  http_status: number;
  stream: number;
  started_at: number;
  ended_at: number;
  latency_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  /** Whether token counts came from the provider (0) or were counted by Keel (1). */
  tokens_estimated: number;
  cost_micros: number;
  finish_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  /** JSON array of attempts: deployment, provider, upstream model, outcome, latency, error. */
  attempts: string;
  request_body: string | null;
  response_body: string | null;
  /** JSON object of further facts (guardrail decisions, cache, user agent…). */
  metadata: string;
}

export interface KeelMetaTable {
  key: string;
  value: string;
  updated_at: number;
}

/** One audit entry; see src/audit/chain.ts for how `hash` covers the other columns. */
export interface AuditLogTable {
  seq: number;
  id: string;
  created_at: number;
  actor_key_id: string | null;
  project_id: string | null;
  ip: string | null;
  user_agent: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  status_code: number | null;
  /** Canonical JSON (see chain.ts), exactly as hashed. */
  details: string;
  prev_hash: string;
  hash: string;
}

/** A project (tenant): it owns traces, keys and, later, models, datasets and runs. */
export interface ProjectsTable {
  id: string;
  name: string;
  created_at: number;
  /** JSON `Limits` (src/quotas/schema.ts), or null for none. */
  limits: string | null;
}

/** An API key, stored as its SHA-256 hash; `project_id` null is a global key. */
export interface ApiKeysTable {
  id: string;
  project_id: string | null;
  name: string;
  role: string;
  /** The first characters of the key (`sk-keel-AbCd`), shown in listings. */
  prefix: string;
  hash: string;
  /** JSON array of the models the key may call, or null for all. */
  models: string | null;
  /** JSON `Limits`, or null for none. */
  limits: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  /** The key this one replaced by rotation. */
  rotated_from: string | null;
}

export interface Database {
  traces: TracesTable;
  keel_meta: KeelMetaTable;
  audit_log: AuditLogTable;
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
}

export type GeneratedId = Generated<number>;
