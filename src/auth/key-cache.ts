import type { Limits } from "../quotas/schema.ts";

/**
 * Verified keys kept in memory for at most `ttlMs` (the `auth.key_cache_ms` setting), keyed by
 * hash. A ttl of 0 disables it. Only keys that verified are cached, never failures, so a key
 * created on another replica works at once. Revocation and rotation on this replica drop the
 * entry at once (`forget`); elsewhere the entry lives out its ttl. Expiry is not cached: the
 * caller checks the key's own `expires_at` on every use.
 */
export interface CachedKey {
  id: string;
  projectId: string | null;
  role: string;
  models: readonly string[] | null;
  expiresAt: number | null;
  /** The key's and its project's limits, as the identity carries them. */
  keyLimits?: Limits | null;
  projectLimits?: Limits | null;
}

export interface KeyCache {
  get(hash: string, now: number): CachedKey | undefined;
  set(hash: string, key: CachedKey, now: number): void;
  /** Drops a key by id (revoked or rotated). */
  forget(keyId: string): void;
}

/** Bounds memory when many distinct keys are in use; the oldest entry goes first. */
const MAX_ENTRIES = 10_000;

export function createKeyCache(ttlMs: number): KeyCache {
  const entries = new Map<string, { key: CachedKey; until: number }>();
  const hashById = new Map<string, string>();

  const drop = (hash: string) => {
    const entry = entries.get(hash);
    if (entry === undefined) return;
    entries.delete(hash);
    hashById.delete(entry.key.id);
  };

  return {
    get(hash, now) {
      if (ttlMs <= 0) return undefined;
      const entry = entries.get(hash);
      if (entry === undefined) return undefined;
      if (now >= entry.until) {
        drop(hash);
        return undefined;
      }
      return entry.key;
    },
    set(hash, key, now) {
      if (ttlMs <= 0) return;
      drop(hash);
      if (entries.size >= MAX_ENTRIES) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) drop(oldest.value);
      }
      entries.set(hash, { key, until: now + ttlMs });
      hashById.set(key.id, hash);
    },
    forget(keyId) {
      const hash = hashById.get(keyId);
      if (hash !== undefined) drop(hash);
    },
  };
}
