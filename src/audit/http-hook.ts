import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { AuditEvent, AuditOutcome } from "./schema.ts";
import type { AuditQueue } from "./queue.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The audit action a route records (`keys.create`); derived from the route when absent. */
    auditAction?: string;
  }
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const VERBS: Record<string, string> = {
  POST: "create",
  PUT: "update",
  PATCH: "update",
  DELETE: "delete",
};

/**
 * Appends every state-changing call and every model invocation to the audit log, whatever
 * its outcome (refused calls are what a security review looks for first). Reads are not
 * audited. Events go through the batched queue, so the request never waits on the chain.
 */
export function auditEventFor(request: FastifyRequest, statusCode: number): AuditEvent | undefined {
  if (request.is404 || READ_METHODS.has(request.method)) return undefined;
  // Fastify builds a new object on every read of routeOptions: read it once.
  const { url: route, config } = request.routeOptions;
  if (route === undefined) return undefined;
  const invocation = route.startsWith("/v1/");
  if (!invocation && !route.startsWith("/api/")) return undefined;

  const params = (request.params ?? {}) as Record<string, unknown>;
  const body = (request.body ?? {}) as Record<string, unknown>;
  const model = typeof body.model === "string" ? body.model.slice(0, 300) : undefined;
  const resourceType = invocation ? "model" : (route.split("/")[2] ?? "api");
  const action =
    config.auditAction ??
    (invocation
      ? "model.invoke"
      : `${resourceType}.${(route.endsWith("/rotate") ? "rotate" : VERBS[request.method]) ?? "call"}`);
  const resourceId = invocation ? model : typeof params.id === "string" ? params.id : undefined;
  const identity = request.identity;

  return {
    action,
    outcome: outcomeOf(statusCode),
    actor_key_id: identity?.keyId ?? null,
    project_id: identity?.projectId ?? null,
    ip: request.ip,
    user_agent: headerValue(request.headers["user-agent"]),
    resource_type: resourceType,
    resource_id: resourceId ?? null,
    status_code: statusCode,
    // Keys in sorted order, the stored (canonical) order, which spares the service a sort.
    details: { method: request.method, request_id: request.id, route },
    at: Date.now(),
  };
}

function outcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) return "denied";
  return status < 400 ? "success" : "error";
}

function headerValue(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? null : first.slice(0, 512);
}

async function auditHookImpl(app: FastifyInstance, options: { queue: AuditQueue }): Promise<void> {
  // Callback style: an async hook costs a promise and a microtask turn on every request.
  app.addHook("onResponse", (request, reply, done) => {
    const event = auditEventFor(request, reply.statusCode);
    if (event !== undefined) options.queue.enqueue(event);
    done();
  });
}

// Applies to every route of the server (what fastify-plugin does), not just a child context.
export const auditHook: FastifyPluginAsync<{ queue: AuditQueue }> = Object.assign(auditHookImpl, {
  [Symbol.for("skip-override")]: true,
});
