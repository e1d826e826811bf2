import type { Identity } from "./identity.ts";

/**
 * Verified keys kept in memory for at most `ttlMs` (the `auth.key_cache_ms` setting), keyed by
 * hash. A ttl of 0 disables it. Only keys that verified are cached, never failures, so a key
 * created on another replica works at once. Revocation and rotation on this replica drop the
 * entry at once (`forget`); a revocation elsewhere empties the whole cache (`clear`) when the
 * revision check notices it. Expiry is not cached: the caller checks the key's own
 * `expires_at` on every use.
 *
 * Generations close the race between a database read and a `clear`: a read that started
 * before the clear may have seen the key before it was revoked, so its result is not cached
 * (`set` with the generation taken before the read).
 */
export interface CachedKey {
  id: string;
  expiresAt: number | null;
  /** What a request with this key is, built once when the key was verified (frozen). */
  identity: Identity;
}

export interface KeyCache {
  readonly enabled: boolean;
  /** Bumped by every `clear`; take it before the database read whose result you `set`. */
  readonly generation: number;
  get(hash: string, now: number): CachedKey | undefined;
  /** Ignored when the cache was cleared since `generation` was taken. */
  set(hash: string, key: CachedKey, now: number, generation: number): void;
  /** Drops a key by id (revoked or rotated). */
  forget(keyId: string): void;
  /** Drops every key (a key was revoked or rotated somewhere). */
  clear(): void;
}

/** Bounds memory when many distinct keys are in use; the oldest entry goes first. */
const MAX_ENTRIES = 10_000;

export function createKeyCache(ttlMs: number): KeyCache {
  const entries = new Map<string, { key: CachedKey; until: number }>();
  const hashById = new Map<string, string>();
  let generation = 0;

  const drop = (hash: string) => {
    const entry = entries.get(hash);
    if (entry === undefined) return;
    entries.delete(hash);
    hashById.delete(entry.key.id);
  };

  return {
    enabled: ttlMs > 0,
    get generation() {
      return generation;
    },
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
    set(hash, key, now, taken) {
      if (ttlMs <= 0 || taken !== generation) return;
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
    clear() {
      generation++;
      entries.clear();
      hashById.clear();
    },
  };
}
