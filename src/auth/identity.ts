import { KeelError } from "../core/errors.ts";
import type { Limits } from "../quotas/schema.ts";
import { permissions, permissionsOf, type Permission, type Role } from "./permissions.ts";

/**
 * Who is calling: set on every authenticated request as `request.identity`. Other domains use
 * the functions below to keep projects apart; they never compare project ids themselves.
 */
export interface Identity {
  /** The key's id; null only when auth is disabled. */
  readonly keyId: string | null;
  /** The key's project; null for a global key, which acts across all projects. */
  readonly projectId: string | null;
  readonly role: Role;
  readonly permissions: ReadonlySet<Permission>;
  /** The models the key may call, or null for any. */
  readonly models: readonly string[] | null;
  /** The key's own usage limits (rate, tokens, budget); null when it has none. */
  readonly keyLimits: Limits | null;
  /** The limits of the key's project, shared by all its keys; null for none or a global key. */
  readonly projectLimits: Limits | null;
}

export function identityFor(key: {
  id: string | null;
  projectId: string | null;
  role: Role;
  models: readonly string[] | null;
  keyLimits?: Limits | null;
  projectLimits?: Limits | null;
}): Identity {
  return Object.freeze({
    keyId: key.id,
    projectId: key.projectId,
    role: key.role,
    permissions: permissionsOf(key.role),
    models: key.models === null ? null : Object.freeze([...key.models]),
    keyLimits: key.keyLimits ?? null,
    projectLimits: key.projectId === null ? null : (key.projectLimits ?? null),
  });
}

/** The identity every request gets when `auth.enabled` is false: a global owner. */
export const anonymousOwner: Identity = Object.freeze({
  keyId: null,
  projectId: null,
  role: "owner",
  permissions: new Set<Permission>(permissions),
  models: null,
  keyLimits: null,
  projectLimits: null,
});

export function isGlobal(identity: Identity): boolean {
  return identity.projectId === null;
}

/**
 * The project a request acts on. A project key always gets its own project: asking for
 * another one is answered as if it did not exist (404), so ids of other tenants do not leak.
 * A global key gets the project it asked for, or null for "all projects" (reads) / "no
 * project" (writes).
 */
export function scopeProject(
  identity: Identity,
  requestedProjectId?: string | null,
): string | null {
  if (identity.projectId === null) return requestedProjectId ?? null;
  if (
    requestedProjectId !== undefined &&
    requestedProjectId !== null &&
    requestedProjectId !== identity.projectId
  ) {
    throw projectNotFound(requestedProjectId);
  }
  return identity.projectId;
}

/** Whether a resource owned by `resourceProjectId` (null: global) is visible to the caller. */
export function canSee(identity: Identity, resourceProjectId: string | null): boolean {
  return identity.projectId === null || identity.projectId === resourceProjectId;
}

/**
 * Throws 404 unless the caller may see a resource of that project. Pass the same message an
 * unknown id would get (`trace trc_… not found`), so both answers read alike.
 */
export function assertVisible(
  identity: Identity,
  resourceProjectId: string | null,
  notFoundMessage: string,
): void {
  if (!canSee(identity, resourceProjectId)) throw new KeelError("not_found", notFoundMessage);
}

export function projectNotFound(id: string): KeelError {
  return new KeelError("not_found", `project ${id} not found`, { param: "project_id" });
}

export function assertPermission(identity: Identity, permission: Permission): void {
  if (!identity.permissions.has(permission)) {
    throw new KeelError(
      "forbidden",
      `this API key (role ${identity.role}) lacks the ${permission} permission`,
      { details: { permission, role: identity.role } },
    );
  }
}

/**
 * For the gateway: throws 403 `forbidden` when the key is limited to a list of models that
 * does not include this one. Call it before looking the model up: the answer is then the
 * same whether or not the model exists, so a restricted key learns nothing about other
 * models, and a caller that may use a model gets a plain reason instead of a puzzling 404.
 */
export function assertModelAllowed(identity: Identity, model: string): void {
  if (identity.models === null || identity.models.includes(model)) return;
  throw new KeelError(
    "forbidden",
    `this API key may not use model "${model}"; it is limited to: ${identity.models.join(", ")}`,
    { param: "model" },
  );
}

/** The subset of `names` the key may call (for `/v1/models`). */
export function visibleModels<T extends string>(identity: Identity, names: readonly T[]): T[] {
  const allowed = identity.models;
  return allowed === null ? [...names] : names.filter((name) => allowed.includes(name));
}
