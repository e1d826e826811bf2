import type { FastifyPluginAsync } from "fastify";
import { parseInput } from "../core/error-render.ts";
import { identityOf } from "./plugin.ts";
import {
  idParamsSchema,
  keyCreateSchema,
  keyListQuerySchema,
  keyRotateSchema,
  projectCreateSchema,
  type CreatedKey,
  type KeyList,
  type KeyView,
  type Project,
  type ProjectList,
} from "./schema.ts";
import type { AuthService } from "./service.ts";

/**
 * The projects and keys API. Each route declares its permission; the service enforces the
 * project boundary (other projects' ids answer 404) and the no-escalation rule.
 * - `POST /api/projects {name, limits?}` → 201 project (owner keys only)
 * - `GET /api/projects`, `GET /api/projects/:id`
 * - `POST /api/keys {name, role, project_id?, models?, limits?, expires_at?}` → 201 with `key`,
 *   the only time it is shown
 * - `GET /api/keys?project_id=&include_revoked=`, `GET /api/keys/:id` (prefix, never the key)
 * - `DELETE /api/keys/:id` revokes at once (idempotent)
 * - `POST /api/keys/:id/rotate {grace_seconds?, expires_at?}` → 201 with the new `key`
 */
export const authRoutes: FastifyPluginAsync<{ service: AuthService }> = async (app, options) => {
  const { service } = options;

  app.post(
    "/api/projects",
    { config: { permission: "projects:write" } },
    async (request, reply): Promise<Project> => {
      const project = await service.createProject(
        identityOf(request),
        parseInput(projectCreateSchema, request.body),
      );
      reply.code(201);
      return project;
    },
  );

  app.get(
    "/api/projects",
    { config: { permission: "projects:read" } },
    async (request): Promise<ProjectList> => ({
      data: await service.listProjects(identityOf(request)),
    }),
  );

  app.get(
    "/api/projects/:id",
    { config: { permission: "projects:read" } },
    async (request): Promise<Project> => {
      const { id } = parseInput(idParamsSchema, request.params);
      return service.getProject(identityOf(request), id);
    },
  );

  app.post(
    "/api/keys",
    { config: { permission: "keys:write" } },
    async (request, reply): Promise<CreatedKey> => {
      const key = await service.createKey(
        identityOf(request),
        parseInput(keyCreateSchema, request.body),
      );
      reply.code(201);
      return key;
    },
  );

  app.get(
    "/api/keys",
    { config: { permission: "keys:read" } },
    async (request): Promise<KeyList> => ({
      data: await service.listKeys(
        identityOf(request),
        parseInput(keyListQuerySchema, request.query),
      ),
    }),
  );

  app.get(
    "/api/keys/:id",
    { config: { permission: "keys:read" } },
    async (request): Promise<KeyView> => {
      const { id } = parseInput(idParamsSchema, request.params);
      return service.getKey(identityOf(request), id);
    },
  );

  app.delete(
    "/api/keys/:id",
    { config: { permission: "keys:write" } },
    async (request): Promise<KeyView> => {
      const { id } = parseInput(idParamsSchema, request.params);
      return service.revokeKey(identityOf(request), id);
    },
  );

  app.post(
    "/api/keys/:id/rotate",
    { config: { permission: "keys:write" } },
    async (request, reply): Promise<CreatedKey> => {
      const { id } = parseInput(idParamsSchema, request.params);
      const key = await service.rotateKey(
        identityOf(request),
        id,
        parseInput(keyRotateSchema, request.body ?? {}),
      );
      reply.code(201);
      return key;
    },
  );
};
