import {
  auditPageSchema,
  auditVerifyResultSchema,
  type AuditPage,
  type AuditVerifyResult,
} from "../audit/index.ts";
import { clientSettings, type Env } from "../core/config.ts";
import type { Secret } from "../core/secret.ts";
import { createTransport } from "./transport.ts";

/**
 * The audit log API over HTTP, for `keel audit`: verify the hash chain, list entries a page
 * at a time, and stream the whole log as JSON lines. Failures are KeelErrors carrying the
 * server's code and message.
 */
export interface AuditFilter {
  action?: string | undefined;
  actor_key_id?: string | undefined;
  project_id?: string | undefined;
  /** ISO-8601; the server checks it. */
  since?: string | undefined;
  until?: string | undefined;
}

export interface AuditListQuery extends AuditFilter {
  /** 1 to 500 (the server's default is 50). */
  limit?: number | undefined;
  /** `next_cursor` from the previous page. */
  cursor?: string | undefined;
}

export interface AuditClient {
  readonly baseUrl: string;
  verify(): Promise<AuditVerifyResult>;
  list(query?: AuditListQuery): Promise<AuditPage>;
  /** The log, oldest first, as raw chunks of JSON lines (one entry a line). */
  exportLines(query?: AuditFilter): Promise<AsyncIterable<Buffer>>;
}

export function createAuditClient(options: {
  baseUrl: string;
  apiKey?: Secret | undefined;
}): AuditClient {
  const transport = createTransport(options);
  return {
    baseUrl: transport.baseUrl,
    verify: () => transport.json(auditVerifyResultSchema, "GET", "/api/audit/verify"),
    list: (query = {}) =>
      transport.json(auditPageSchema, "GET", "/api/audit", {
        query: definedOnly({
          ...query,
          limit: query.limit === undefined ? undefined : String(query.limit),
        }),
      }),
    exportLines: async (query = {}) => {
      const res = await transport.send("GET", "/api/audit/export", {
        query: { ...definedOnly({ ...query }), format: "jsonl" },
        // JSON for the error answers.
        accept: "application/x-ndjson, application/json",
      });
      return res.body;
    },
  };
}

/**
 * The audit client for the server at `url`, else KEEL_URL, else http://127.0.0.1:4141, with
 * the key from KEEL_API_KEY.
 */
export function connectAudit(url: string | undefined, env?: Env): AuditClient {
  const settings = clientSettings(env);
  return createAuditClient({ baseUrl: url ?? settings.url, apiKey: settings.apiKey });
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}
