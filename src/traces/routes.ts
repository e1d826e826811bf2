import type { FastifyPluginAsync } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../core/db/tables.ts";
import { parseInput } from "../core/error-render.ts";
import { traceIdParamsSchema, traceListQuerySchema } from "./schema.ts";
import type { TraceDetail, TraceList } from "./schema.ts";
import { createTraceService } from "./service.ts";

/** `GET /api/traces` (filtered, cursor-paginated, newest first) and `GET /api/traces/:id`. */
export const traceRoutes: FastifyPluginAsync<{ db: Kysely<Database> }> = (app, options) => {
  const service = createTraceService(options.db);

  app.get(
    "/api/traces",
    { config: { permission: "traces:read" } },
    async (request): Promise<TraceList> => {
      return service.list(parseInput(traceListQuerySchema, request.query));
    },
  );

  app.get(
    "/api/traces/:id",
    { config: { permission: "traces:read" } },
    async (request): Promise<TraceDetail> => {
      const { id } = parseInput(traceIdParamsSchema, request.params);
      return service.get(id);
    },
  );

  return Promise.resolve();
};
