/**
 * Roles and what they may do: one table, here, mirrored in the README
 * (a test keeps the two equal). A route declares the one
 * permission it needs (`config: { permission: "traces:read" }`); a key's role grants a set of
 * them. Which project a key may touch is a separate rule (see scope.ts): a project key acts
 * only inside its project, a global key (project_id null) across all of them.
 */

export const permissions = [
  "projects:read",
  "projects:write",
  "keys:read",
  "keys:write",
  "models:invoke",
  "models:read",
  "models:write",
  "traces:read",
  "traces:write",
  "audit:read",
  "datasets:read",
  "datasets:write",
  "runs:read",
  "runs:write",
  "evals:read",
  "evals:write",
  "metrics:read",
] as const;

export type Permission = (typeof permissions)[number];

export const roles = ["owner", "admin", "developer", "viewer", "service"] as const;

export type Role = (typeof roles)[number];

const readAll = [
  "projects:read",
  "models:read",
  "traces:read",
  "datasets:read",
  "runs:read",
  "evals:read",
  "metrics:read",
] as const satisfies readonly Permission[];

const buildAll = [
  "models:invoke",
  "models:write",
  "traces:write",
  "datasets:write",
  "runs:write",
  "evals:write",
] as const satisfies readonly Permission[];

/**
 * - owner: everything, and the only role that creates projects and global keys.
 * - admin: everything inside its project, keys and the audit log included.
 * - developer: builds and calls models, reads keys (prefixes only) but cannot make them.
 * - viewer: reads, never writes, never invokes; no keys, no audit log.
 * - service: inference only (`/v1`), for applications.
 */
export const rolePermissions = {
  owner: permissions,
  admin: [...readAll, ...buildAll, "keys:read", "keys:write", "audit:read"],
  developer: [...readAll, ...buildAll, "keys:read"],
  viewer: readAll,
  service: ["models:invoke"],
} as const satisfies Record<Role, readonly Permission[]>;

const permissionSets = new Map<Role, ReadonlySet<Permission>>(
  roles.map((role) => [role, new Set<Permission>(rolePermissions[role])]),
);

export function permissionsOf(role: Role): ReadonlySet<Permission> {
  return permissionSets.get(role) ?? new Set();
}

/**
 * A key may hand out (create, rotate, revoke) a role only when that role can do nothing the
 * key itself cannot: no one escalates by minting a key.
 */
export function canGrantRole(granter: ReadonlySet<Permission>, role: Role): boolean {
  for (const permission of permissionsOf(role)) {
    if (!granter.has(permission)) return false;
  }
  return true;
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === "string" && (permissions as readonly string[]).includes(value);
}
