import { randomBytes } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { ApiKeysTable, Database, ProjectsTable } from "../core/db/tables.ts";

/** SQL for projects and API keys; nothing else. */
export type ProjectRow = Selectable<ProjectsTable>;
export type KeyRow = Selectable<ApiKeysTable>;

/** Which keys a listing covers: one project's, the global ones (null), or all (undefined). */
export interface KeyFilter {
  projectId?: string | null;
  includeRevoked: boolean;
}

/** A key with its project's limits (JSON text, null for none or a global key), for sign-in. */
export type CredentialRow = KeyRow & { project_limits: string | null };

/** How the replaced key ends in a rotation: revoked now, or expiring at a given time. */
export type RotationEnd = { revokedAt: number } | { expiresAt: number };

const BOOTSTRAP_META_KEY = "auth.bootstrap_key_id";
/** Rewritten (a fresh random value) by every revocation and rotation: see revision-check.ts. */
const REVISION_META_KEY = "auth.revision";

export interface AuthStore {
  /** False when the name is taken. */
  insertProject(row: ProjectRow): Promise<boolean>;
  getProject(id: string): Promise<ProjectRow | undefined>;
  /** Newest first; `onlyId` narrows the list to one project. */
  listProjects(onlyId?: string): Promise<ProjectRow[]>;
  insertKey(row: KeyRow): Promise<void>;
  /** False when a key with that hash exists already. */
  insertKeyIfAbsent(row: KeyRow): Promise<boolean>;
  findKeyByHash(hash: string): Promise<KeyRow | undefined>;
  /** The key with that hash and its project's limits, in one query. */
  findCredential(hash: string): Promise<CredentialRow | undefined>;
  getKey(id: string): Promise<KeyRow | undefined>;
  listKeys(filter: KeyFilter): Promise<KeyRow[]>;
  /** Sets revoked_at unless it is set, and a new auth revision; false when it already was. */
  revokeKey(id: string, at: number): Promise<boolean>;
  touchKey(id: string, at: number): Promise<void>;
  /**
   * Inserts the new key, ends the old one and sets a new auth revision in one transaction;
   * false when the old was revoked.
   */
  rotateKey(next: KeyRow, oldId: string, end: RotationEnd): Promise<boolean>;
  /**
   * Creates the first-start key unless one was ever created, across replicas: the claim is a
   * `keel_meta` row written in the same transaction. False when already claimed.
   */
  claimBootstrap(row: KeyRow): Promise<boolean>;
  /** Whether the first-start key was ever created. */
  bootstrapped(): Promise<boolean>;
  /** The auth revision: changes whenever a key is revoked or rotated; undefined before any. */
  revision(): Promise<string | undefined>;
}

export function createAuthStore(db: Kysely<Database>): AuthStore {
  return {
    async insertProject(row) {
      const result = await db
        .insertInto("projects")
        .values(row)
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },

    getProject: (id) =>
      db.selectFrom("projects").selectAll().where("id", "=", id).executeTakeFirst(),

    async listProjects(onlyId) {
      let query = db.selectFrom("projects").selectAll().orderBy("id", "desc");
      if (onlyId !== undefined) query = query.where("id", "=", onlyId);
      return query.execute();
    },

    async insertKey(row) {
      await db.insertInto("api_keys").values(row).execute();
    },

    async insertKeyIfAbsent(row) {
      const result = await db
        .insertInto("api_keys")
        .values(row)
        .onConflict((oc) => oc.column("hash").doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },

    findKeyByHash: (hash) =>
      db.selectFrom("api_keys").selectAll().where("hash", "=", hash).executeTakeFirst(),

    findCredential: (hash) =>
      db
        .selectFrom("api_keys")
        .leftJoin("projects", "projects.id", "api_keys.project_id")
        .selectAll("api_keys")
        .select("projects.limits as project_limits")
        .where("api_keys.hash", "=", hash)
        .executeTakeFirst(),

    getKey: (id) => db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst(),

    async listKeys(filter) {
      let query = db.selectFrom("api_keys").selectAll().orderBy("id", "desc");
      if (filter.projectId === null) query = query.where("project_id", "is", null);
      else if (filter.projectId !== undefined) {
        query = query.where("project_id", "=", filter.projectId);
      }
      if (!filter.includeRevoked) query = query.where("revoked_at", "is", null);
      return query.execute();
    },

    async revokeKey(id, at) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable("api_keys")
          .set({ revoked_at: at })
          .where("id", "=", id)
          .where("revoked_at", "is", null)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await newRevision(trx, at);
        return true;
      });
    },

    async touchKey(id, at) {
      await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
    },

    async rotateKey(next, oldId, end) {
      return db.transaction().execute(async (trx) => {
        const ended = await trx
          .updateTable("api_keys")
          .set("revokedAt" in end ? { revoked_at: end.revokedAt } : { expires_at: end.expiresAt })
          .where("id", "=", oldId)
          .where("revoked_at", "is", null)
          .executeTakeFirst();
        if (Number(ended.numUpdatedRows) !== 1) return false;
        await trx.insertInto("api_keys").values(next).execute();
        await newRevision(trx, next.created_at);
        return true;
      });
    },

    async claimBootstrap(row) {
      return db.transaction().execute(async (trx) => {
        const claim = await trx
          .insertInto("keel_meta")
          .values({ key: BOOTSTRAP_META_KEY, value: row.id, updated_at: row.created_at })
          .onConflict((oc) => oc.column("key").doNothing())
          .executeTakeFirst();
        if (Number(claim.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
        await trx.insertInto("api_keys").values(row).execute();
        return true;
      });
    },

    async bootstrapped() {
      const row = await db
        .selectFrom("keel_meta")
        .select("key")
        .where("key", "=", BOOTSTRAP_META_KEY)
        .executeTakeFirst();
      return row !== undefined;
    },

    async revision() {
      const row = await db
        .selectFrom("keel_meta")
        .select("value")
        .where("key", "=", REVISION_META_KEY)
        .executeTakeFirst();
      return row?.value;
    },
  };
}

async function newRevision(trx: Kysely<Database>, at: number): Promise<void> {
  const value = randomBytes(12).toString("hex");
  await trx
    .insertInto("keel_meta")
    .values({ key: REVISION_META_KEY, value, updated_at: at })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: at }))
    .execute();
}
