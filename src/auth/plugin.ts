import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { KeelError } from "../core/errors.ts";
import { anonymousOwner, assertPermission, type Identity } from "./identity.ts";
import type { Permission } from "./permissions.ts";
import type { AuthConfig } from "./schema.ts";
import type { AuthService } from "./service.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who is calling; undefined only on public routes (`/healthz`, `/readyz`, …). */
    identity: Identity | undefined;
  }
  interface FastifyContextConfig {
    /** The permission a caller's role must grant; a route without one is denied. */
    permission?: Permission;
  }
}

export interface AuthPluginOptions {
  service: AuthService;
  config: AuthConfig;
  /** Further routes (as registered, e.g. `/web/*`) that need no key. */
  publicRoutes?: readonly string[];
}

const ALWAYS_PUBLIC = ["/healthz", "/readyz"];

/**
 * Request identity for every route of the server it is registered on (it breaks Fastify's
 * encapsulation, as fastify-plugin would). One `onRequest` hook, so nothing is parsed for a
 * caller that may not proceed:
 * 1. public routes pass without a key;
 * 2. everything else needs `Authorization: Bearer sk-keel-…` → `request.identity`, or 401;
 * 3. the route's `config.permission` must be granted by the key's role, or 403 naming it;
 *    a route that declares no permission is denied (fail closed). Unknown URLs still need a
 *    valid key, then answer 404, so routes cannot be probed without one.
 */
async function authPluginImpl(app: FastifyInstance, options: AuthPluginOptions): Promise<void> {
  const { service, config } = options;
  const publicRoutes = new Set([
    ...ALWAYS_PUBLIC,
    ...(config.metrics_public ? ["/metrics"] : []),
    ...(options.publicRoutes ?? []),
  ]);
  /** Routes Keel itself mounts without declaring a permission. */
  const builtIn = new Map<string, Permission>([["/metrics", "metrics:read"]]);

  app.decorateRequest("identity", undefined);

  /**
   * Sets the request's identity; returns the 403 when its role lacks the route's permission
   * (a callback hook hands errors to `done`). Unknown URLs pass here: the 404 handler answers.
   */
  const authorize = (
    request: FastifyRequest,
    route: string | undefined,
    identity: Identity,
  ): Error | undefined => {
    request.identity = identity;
    if (route === undefined) return undefined;
    const permission = request.routeOptions.config.permission ?? builtIn.get(route);
    if (permission === undefined) {
      return new KeelError(
        "forbidden",
        `${request.method} ${route} declares no permission, so Keel denies it`,
      );
    }
    try {
      assertPermission(identity, permission);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  };

  // Callback style: a key verified moments ago (nearly every request) is let through without
  // a promise or a microtask turn; only a key to look up waits for storage.
  app.addHook("onRequest", (request, reply, done) => {
    const route = request.is404 ? undefined : request.routeOptions.url;
    if (route !== undefined && publicRoutes.has(route)) {
      done();
      return;
    }
    let identity: Identity | undefined;
    try {
      identity = config.enabled
        ? service.cachedIdentity(request.headers.authorization)
        : anonymousOwner;
    } catch (err) {
      done(challenge(err, reply));
      return;
    }
    if (identity !== undefined) {
      done(authorize(request, route, identity));
      return;
    }
    service.authenticate(request.headers.authorization).then(
      (verified) => done(authorize(request, route, verified)),
      (err: unknown) => done(challenge(err, reply)),
    );
  });
}

/** A 401 asks for a Bearer key (`WWW-Authenticate`), as RFC 6750 says it should. */
function challenge(err: unknown, reply: FastifyReply): Error {
  if (err instanceof KeelError && err.code === "unauthorized") {
    reply.header("www-authenticate", 'Bearer realm="keel"');
  }
  return err as Error;
}

// What fastify-plugin does: the hook and decorator apply to the parent, i.e. to every route.
Object.assign(authPluginImpl, { [Symbol.for("skip-override")]: true });

export const authPlugin = authPluginImpl;

/** The caller of a route that needs a key; a 401 if the route was mounted as public. */
export function identityOf(request: FastifyRequest): Identity {
  if (request.identity === undefined) {
    throw new KeelError("unauthorized", "this route needs an API key");
  }
  return request.identity;
}
