import { Readable } from "node:stream";
import type { FastifyPluginAsync } from "fastify";
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { identityOf, isGlobal, scopeProject } from "../auth/index.ts";
import type { Database } from "../core/db/tables.ts";
import { parseInput } from "../core/error-render.ts";
import { KeelError } from "../core/errors.ts";
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
 *
 * A project key (an admin: `audit:read`) sees only its project's entries, in listings and
 * exports alike; a `project_id` naming another project is a 404 for that project. Verifying
 * the chain reads every project's entries (each hash covers the one before), so it is for
 * global keys only: a project key gets 403 `forbidden` saying so. A global key sees and
 * verifies everything and may filter by `project_id`.
 */
export const auditRoutes: FastifyPluginAsync<{ db: Kysely<Database> }> = async (app, options) => {
  const service = createAuditService(options.db);

  app.get("/api/audit", { config: { permission: "audit:read" } }, async (request) => {
    const query = parseInput(auditListQuerySchema, request.query);
    return service.list(filterOf(request, query), { limit: query.limit, cursor: query.cursor });
  });

  app.get("/api/audit/verify", { config: { permission: "audit:read" } }, async (request) => {
    if (!isGlobal(identityOf(request))) {
      throw new KeelError(
        "forbidden",
        "verifying the audit chain reads every project's entries: use a global (owner) key",
      );
    }
    return service.verify();
  });

  app.get("/api/audit/export", { config: { permission: "audit:read" } }, async (request, reply) => {
    const filter = filterOf(request, parseInput(auditExportQuerySchema, request.query));
    reply
      .type("application/x-ndjson; charset=utf-8")
      .header("content-disposition", 'attachment; filename="audit.jsonl"');
    return reply.send(Readable.from(service.exportLines(filter)));
  });
};

/** The query's filters, limited to the caller's project when it holds a project key. */
function filterOf(request: FastifyRequest, query: Omit<AuditExportQuery, "format">): AuditFilter {
  return {
    action: query.action,
    actor_key_id: query.actor_key_id,
    project_id: scopeProject(identityOf(request), query.project_id) ?? undefined,
    since: query.since,
    until: query.until,
  };
}
