import type { FastifyPluginAsync } from "fastify";
import type { Kysely } from "kysely";
import { canSee, identityOf, scopeProject } from "../auth/index.ts";
import type { Database } from "../core/db/tables.ts";
import { parseInput } from "../core/error-render.ts";
import type { Keyring } from "../core/keyring.ts";
import { traceIdParamsSchema, traceListQuerySchema } from "./schema.ts";
import type { TraceDetail, TraceList } from "./schema.ts";
import { createTraceService } from "./service.ts";

export interface TraceRoutesOptions {
  db: Kysely<Database>;
  /** Opens bodies stored with `traces.encrypt` on. */
  keyring?: Keyring | undefined;
}

/**
 * `GET /api/traces` (filtered, cursor-paginated, newest first) and `GET /api/traces/:id`.
 * A project key sees only its project's traces: another project's trace id is a 404 worded
 * like an unknown one, and `project_id` naming another project is a 404 for that project. A
 * global key sees every trace and may filter by `project_id`.
 */
export const traceRoutes: FastifyPluginAsync<TraceRoutesOptions> = (app, options) => {
  const service = createTraceService(options.db, { keyring: options.keyring });

  app.get(
    "/api/traces",
    { config: { permission: "traces:read" } },
    async (request): Promise<TraceList> => {
      const query = parseInput(traceListQuerySchema, request.query);
      const project = scopeProject(identityOf(request), query.project_id);
      return service.list({ ...query, project_id: project ?? undefined });
    },
  );

  app.get(
    "/api/traces/:id",
    { config: { permission: "traces:read" } },
    async (request): Promise<TraceDetail> => {
      const identity = identityOf(request);
      const { id } = parseInput(traceIdParamsSchema, request.params);
      return service.get(id, (projectId) => canSee(identity, projectId));
    },
  );

  return Promise.resolve();
};
