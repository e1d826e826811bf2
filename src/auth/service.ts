import type { Kysely } from "kysely";
import type { Database } from "../core/db/tables.ts";
import { KeelError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import { createAuthenticator } from "./authenticator.ts";
import {
  assertPermission,
  canSee,
  projectNotFound,
  scopeProject,
  type Identity,
} from "./identity.ts";
import { createKeyCache } from "./key-cache.ts";
import { createRevisionCheck } from "./revision-check.ts";
import { displayPrefix, generateKey, hashKey } from "./key-material.ts";
import { jsonOrNull, rowModels, rowRole, toKeyView, toProjectView } from "./key-view.ts";
import { canGrantRole, type Role } from "./permissions.ts";
import {
  DEFAULT_REVOCATION_CHECK_MS,
  type CreatedKey,
  type KeyCreate,
  type KeyListQuery,
  type KeyRotate,
  type KeyView,
  type Project,
  type ProjectCreate,
} from "./schema.ts";
import { createAuthStore, type KeyRow, type RotationEnd } from "./store.ts";

/**
 * Projects and API keys: the rules, no HTTP. Every call takes the caller's Identity and keeps
 * it inside its project: another project's ids answer 404 exactly like unknown ids. No key
 * can mint, rotate or revoke a key whose role could do more than its own.
 */
export interface AuthService {
  /** `Authorization` header → Identity, or 401 saying what is wrong. */
  authenticate(authorization: string | undefined): Promise<Identity>;
  /** `authenticate` for a recently verified key, at once; undefined when it must wait. */
  cachedIdentity(authorization: string | undefined): Identity | undefined;
  createProject(caller: Identity, input: ProjectCreate): Promise<Project>;
  listProjects(caller: Identity): Promise<Project[]>;
  getProject(caller: Identity, id: string): Promise<Project>;
  createKey(caller: Identity, input: KeyCreate): Promise<CreatedKey>;
  listKeys(caller: Identity, query: KeyListQuery): Promise<KeyView[]>;
  getKey(caller: Identity, id: string): Promise<KeyView>;
  /** Idempotent: revoking a revoked key answers it unchanged. */
  revokeKey(caller: Identity, id: string): Promise<KeyView>;
  rotateKey(caller: Identity, id: string, input: KeyRotate): Promise<CreatedKey>;
  /** Whether the first-start owner key was ever created. */
  bootstrapped(): Promise<boolean>;
  /**
   * Stores `key` as a global owner key. With `onlyFirst`, only if no first-start key was ever
   * created (on any replica). Returns whether it stored the key.
   */
  storeOwnerKey(key: string, options: { name: string; onlyFirst: boolean }): Promise<boolean>;
}

export interface AuthServiceOptions {
  db: Kysely<Database>;
  /** `auth.key_cache_ms`; 0 disables the cache. */
  keyCacheMs?: number;
  /** `auth.revocation_check_ms`: how stale this replica's view of revocations may be. */
  revocationCheckMs?: number;
  /** The clock; tests move it. */
  now?: () => number;
}

export function createAuthService(options: AuthServiceOptions): AuthService {
  const store = createAuthStore(options.db);
  const cache = createKeyCache(options.keyCacheMs ?? 0);
  const now = options.now ?? Date.now;
  const revisions = createRevisionCheck({
    cache,
    readRevision: () => store.revision(),
    intervalMs: options.revocationCheckMs ?? DEFAULT_REVOCATION_CHECK_MS,
  });
  const authenticator = createAuthenticator({ store, cache, revisions, now });

  async function visibleKey(caller: Identity, id: string): Promise<KeyRow> {
    const row = await store.getKey(id);
    if (row === undefined || !canSee(caller, row.project_id)) {
      throw new KeelError("not_found", `API key ${id} not found`, { param: "id" });
    }
    return row;
  }

  function assertCanGrant(caller: Identity, role: Role, verb: string): void {
    if (!canGrantRole(caller.permissions, role)) {
      throw new KeelError(
        "forbidden",
        `a ${caller.role} key cannot ${verb} a ${role} key: that role can do more than yours`,
        { param: "role" },
      );
    }
  }

  function assertFuture(expiresAt: number | null, at: number): void {
    if (expiresAt !== null && expiresAt <= at) {
      throw new KeelError("invalid_request", "expires_at: must be in the future", {
        param: "expires_at",
      });
    }
  }

  function newKeyRow(fields: Omit<KeyRow, "id" | "prefix" | "hash">, key: string): KeyRow {
    return {
      id: newId("key", fields.created_at),
      prefix: displayPrefix(key),
      hash: hashKey(key),
      ...fields,
    };
  }

  return {
    authenticate: (authorization) => authenticator.authenticate(authorization),
    cachedIdentity: (authorization) => authenticator.cachedIdentity(authorization),

    async createProject(caller, input) {
      assertPermission(caller, "projects:write");
      if (caller.projectId !== null) {
        throw new KeelError("forbidden", "only a global owner key can create projects");
      }
      const row = {
        id: newId("project", now()),
        name: input.name,
        created_at: now(),
        limits: jsonOrNull(input.limits),
      };
      if (!(await store.insertProject(row))) {
        throw new KeelError("conflict", `project name "${input.name}" is taken: choose another`, {
          param: "name",
        });
      }
      return toProjectView(row);
    },

    async listProjects(caller) {
      assertPermission(caller, "projects:read");
      const rows = await store.listProjects(caller.projectId ?? undefined);
      return rows.map(toProjectView);
    },

    async getProject(caller, id) {
      assertPermission(caller, "projects:read");
      const row = await store.getProject(id);
      if (row === undefined || !canSee(caller, row.id)) throw projectNotFound(id);
      return toProjectView(row);
    },

    async createKey(caller, input) {
      assertPermission(caller, "keys:write");
      assertCanGrant(caller, input.role, "create");
      const at = now();
      const projectId = scopeProject(caller, input.project_id);
      if (projectId === null && caller.role !== "owner") {
        throw new KeelError(
          "forbidden",
          "only an owner key can create global keys: pass project_id",
          { param: "project_id" },
        );
      }
      if (projectId !== null && input.role === "owner") {
        throw new KeelError(
          "invalid_request",
          "role: owner keys are global; leave project_id out, or use admin for a project",
          { param: "role" },
        );
      }
      if (projectId !== null && (await store.getProject(projectId)) === undefined) {
        throw projectNotFound(projectId);
      }
      const models = grantedModels(caller, input.models);
      const expiresAt = input.expires_at ?? null;
      assertFuture(expiresAt, at);

      const key = generateKey();
      const row = newKeyRow(
        {
          project_id: projectId,
          name: input.name,
          role: input.role,
          models: jsonOrNull(models),
          limits: jsonOrNull(input.limits),
          created_at: at,
          expires_at: expiresAt,
          revoked_at: null,
          last_used_at: null,
          rotated_from: null,
        },
        key,
      );
      await store.insertKey(row);
      return { ...toKeyView(row, at), key };
    },

    async listKeys(caller, query) {
      assertPermission(caller, "keys:read");
      // A global key lists every project's keys unless it names one (which must exist).
      const wanted = query.project_id;
      if (caller.projectId === null && wanted !== undefined) {
        if ((await store.getProject(wanted)) === undefined) throw projectNotFound(wanted);
      }
      const projectId = caller.projectId === null ? wanted : scopeProject(caller, wanted);
      const rows = await store.listKeys({
        ...(projectId === undefined ? {} : { projectId }),
        includeRevoked: query.include_revoked === "true",
      });
      const at = now();
      return rows.map((row) => toKeyView(row, at));
    },

    async getKey(caller, id) {
      assertPermission(caller, "keys:read");
      return toKeyView(await visibleKey(caller, id), now());
    },

    async revokeKey(caller, id) {
      assertPermission(caller, "keys:write");
      const row = await visibleKey(caller, id);
      assertCanGrant(caller, rowRole(row), "revoke");
      const at = now();
      await store.revokeKey(id, at);
      cache.forget(id);
      const after = await store.getKey(id);
      return toKeyView(after ?? row, at);
    },

    async rotateKey(caller, id, input) {
      assertPermission(caller, "keys:write");
      const old = await visibleKey(caller, id);
      assertCanGrant(caller, rowRole(old), "rotate");
      if (old.revoked_at !== null) {
        throw new KeelError("conflict", `API key ${id} is revoked: create a new key instead`);
      }
      const at = now();
      const expiresAt = input.expires_at === undefined ? old.expires_at : input.expires_at;
      assertFuture(expiresAt, at);

      const key = generateKey();
      const row = newKeyRow(
        {
          project_id: old.project_id,
          name: old.name,
          role: old.role,
          models: jsonOrNull(rowModels(old)),
          limits: old.limits,
          created_at: at,
          expires_at: expiresAt,
          revoked_at: null,
          last_used_at: null,
          rotated_from: old.id,
        },
        key,
      );
      const graceEnd = at + input.grace_seconds * 1000;
      const end: RotationEnd =
        input.grace_seconds === 0
          ? { revokedAt: at }
          : { expiresAt: Math.min(old.expires_at ?? graceEnd, graceEnd) };
      if (!(await store.rotateKey(row, old.id, end))) {
        throw new KeelError("conflict", `API key ${id} is revoked: create a new key instead`);
      }
      cache.forget(old.id);
      return { ...toKeyView(row, at), key };
    },

    bootstrapped: () => store.bootstrapped(),

    async storeOwnerKey(key, { name, onlyFirst }) {
      const row = newKeyRow(
        {
          project_id: null,
          name,
          role: "owner",
          models: null,
          limits: null,
          created_at: now(),
          expires_at: null,
          revoked_at: null,
          last_used_at: null,
          rotated_from: null,
        },
        key,
      );
      if (await store.claimBootstrap(row)) return true;
      return onlyFirst ? false : store.insertKeyIfAbsent(row);
    },
  };
}

/** A key limited to some models can only hand out (a subset of) those. */
function grantedModels(
  caller: Identity,
  requested: readonly string[] | undefined,
): string[] | null {
  const callerModels = caller.models;
  if (requested === undefined) return callerModels === null ? null : [...callerModels];
  const unique = [...new Set(requested)];
  if (callerModels !== null) {
    const outside = unique.filter((m) => !callerModels.includes(m));
    if (outside.length > 0) {
      throw new KeelError(
        "forbidden",
        `models: this API key may not grant ${outside.join(", ")}; it is limited to ${callerModels.join(", ")}`,
        { param: "models" },
      );
    }
  }
  return unique;
}
