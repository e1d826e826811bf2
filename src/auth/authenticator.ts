import { KeelError } from "../core/errors.ts";
import { identityFor, type Identity } from "./identity.ts";
import type { KeyCache } from "./key-cache.ts";
import type { RevisionCheck } from "./revision-check.ts";
import { hashesEqual, hashKey, isKeyFormat, KEY_PREFIX, keyFormatHint } from "./key-material.ts";
import { rowModels, rowRole } from "./key-view.ts";
import { limitsSchema, type Limits } from "../quotas/schema.ts";
import type { AuthStore } from "./store.ts";

/**
 * Turns an `Authorization` header into an Identity, or a 401 that says what is wrong: no
 * header, a header that is not `Bearer <key>`, not a Keel key, an unknown key, a revoked key,
 * an expired key. Only the holder of a key learns that it was revoked or expired; nothing
 * here takes or reveals a key id.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Identity>;
  /**
   * The identity of a key verified within the cache's lifetime, without waiting; undefined
   * when `authenticate` must look it up (not cached, or the revision check is due). Throws the
   * same 401s as `authenticate` for a malformed header or an expired key.
   */
  cachedIdentity(authorization: string | undefined): Identity | undefined;
}

/** `last_used_at` is written at most this often per key, not on every request. */
const TOUCH_EVERY_MS = 60_000;

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function createAuthenticator(deps: {
  store: AuthStore;
  cache: KeyCache;
  revisions: RevisionCheck;
  now: () => number;
}): Authenticator {
  const { store, cache, revisions, now } = deps;

  /** The identity of a cached key that has not expired; undefined when not cached. */
  const fromCache = (hash: string, at: number): Identity | undefined => {
    const cached = cache.get(hash, at);
    if (cached === undefined) return undefined;
    assertNotExpired(cached.expiresAt, at);
    return cached.identity;
  };

  return {
    async authenticate(authorization) {
      const key = bearerKey(authorization);
      const hash = hashKey(key);
      const at = now();

      // A failed revision read empties the cache; the key is then read from storage below.
      if (revisions.due(at)) await revisions.confirm(at).catch(() => undefined);
      const known = fromCache(hash, at);
      if (known !== undefined) return known;

      const generation = cache.generation;
      const row = await store.findCredential(hash);
      if (row === undefined || !hashesEqual(row.hash, hash)) {
        throw unauthorized("invalid API key: no such key (check KEEL_API_KEY or the key you sent)");
      }
      if (row.revoked_at !== null) {
        throw unauthorized("this API key was revoked: ask an admin for a new one");
      }
      assertNotExpired(row.expires_at, at);

      const role = rowRole(row);
      const models = rowModels(row);
      const keyLimits = columnLimits(row.limits, `api_keys.limits (row ${row.id})`);
      const projectLimits = columnLimits(row.project_limits, `projects.limits (key ${row.id})`);
      if (row.last_used_at === null || at - row.last_used_at >= TOUCH_EVERY_MS) {
        await store.touchKey(row.id, at);
      }
      const identity = identityFor({
        id: row.id,
        projectId: row.project_id,
        role,
        models,
        keyLimits,
        projectLimits,
      });
      cache.set(hash, { id: row.id, expiresAt: row.expires_at, identity }, at, generation);
      return identity;
    },

    cachedIdentity(authorization) {
      const key = bearerKey(authorization);
      const at = now();
      return revisions.due(at) ? undefined : fromCache(hashKey(key), at);
    },
  };
}

/** A stored limits column; a corrupt one is a server fault, not the caller's. */
function columnLimits(text: string | null, where: string): Limits | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new KeelError("internal", `${where} is not valid JSON`, { cause });
  }
  const parsed = limitsSchema.nullable().safeParse(value);
  if (!parsed.success) throw new KeelError("internal", `${where} holds invalid limits`);
  return parsed.data;
}

function bearerKey(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === "") {
    throw unauthorized(`missing API key: send the header "Authorization: Bearer ${KEY_PREFIX}…"`);
  }
  const match = BEARER.exec(authorization);
  if (match === null) {
    throw unauthorized(
      `the Authorization header must be "Bearer <API key>" (got a different scheme or format)`,
    );
  }
  const key = match[1]!;
  if (!isKeyFormat(key)) {
    throw unauthorized(`invalid API key: ${keyFormatHint}`);
  }
  return key;
}

function assertNotExpired(expiresAt: number | null, at: number): void {
  if (expiresAt !== null && at >= expiresAt) {
    throw unauthorized(
      `this API key expired at ${new Date(expiresAt).toISOString()}: ask an admin for a new one`,
    );
  }
}

function unauthorized(message: string): KeelError {
  return new KeelError("unauthorized", message);
}
