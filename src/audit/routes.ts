import { Readable } from "node:stream";
import type { FastifyPluginAsync } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../core/db/tables.ts";
import { parseInput } from "../core/error-render.ts";
import {
  auditExportQuerySchema,
  auditListQuerySchema,
  type AuditExportQuery,
  type AuditFilter,
} from "./schema.ts";
import { createAuditService } from "./service.ts";

/**
 * The audit API (read-only: nothing here or anywhere else deletes from the log):
 * - `GET /api/audit` newest first, filters action, actor_key_id, project_id, since, until,
 *   pages of `limit` with `{data, next_cursor}`;
 * - `GET /api/audit/verify` walks the chain: `{ok, entries, head, first_bad?}`;
 * - `GET /api/audit/export?format=jsonl` the whole (filtered) log, oldest first, streamed.
 */
export const auditRoutes: FastifyPluginAsync<{ db: Kysely<Database> }> = async (app, options) => {
  const service = createAuditService(options.db);

  app.get("/api/audit", { config: { permission: "audit:read" } }, async (request) => {
    const query = parseInput(auditListQuerySchema, request.query);
    return service.list(filterOf(query), { limit: query.limit, cursor: query.cursor });
  });

  app.get("/api/audit/verify", { config: { permission: "audit:read" } }, async () =>
    service.verify(),
  );

  app.get("/api/audit/export", { config: { permission: "audit:read" } }, async (request, reply) => {
    const query = parseInput(auditExportQuerySchema, request.query);
    reply
      .type("application/x-ndjson; charset=utf-8")
      .header("content-disposition", 'attachment; filename="audit.jsonl"');
    return reply.send(Readable.from(service.exportLines(filterOf(query))));
  });
};

function filterOf(query: Omit<AuditExportQuery, "format">): AuditFilter {
  return {
    action: query.action,
    actor_key_id: query.actor_key_id,
    project_id: query.project_id,
    since: query.since,
    until: query.until,
  };
}
