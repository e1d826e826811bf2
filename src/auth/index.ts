export { authPlugin, identityOf, type AuthPluginOptions } from "./plugin.ts";
export { authRoutes } from "./routes.ts";
export { createAuthService, type AuthService, type AuthServiceOptions } from "./service.ts";
export { bootstrapAdminKey, type BootstrapOptions, type BootstrapResult } from "./bootstrap.ts";
export {
  anonymousOwner,
  assertModelAllowed,
  assertPermission,
  assertVisible,
  canSee,
  isGlobal,
  scopeProject,
  visibleModels,
  type Identity,
} from "./identity.ts";
export {
  canGrantRole,
  permissions,
  permissionsOf,
  rolePermissions,
  roles,
  type Permission,
  type Role,
} from "./permissions.ts";
export {
  authConfigSchema,
  createdKeySchema,
  keyListSchema,
  keySchema,
  projectListSchema,
  projectSchema,
  roleSchema,
  type AuthConfig,
  type CreatedKey,
  type KeyList,
  type KeyView,
  type Project,
  type ProjectList,
} from "./schema.ts";
export { KEY_PREFIX, generateKey } from "./key-material.ts";
