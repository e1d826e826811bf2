import type { KeyCache } from "./key-cache.ts";

/**
 * Keeps a replica's key cache honest about revocations made elsewhere. Every revocation and
 * rotation writes a new auth revision in the same transaction; before the cache is trusted,
 * the revision is re-read when the last read is older than `intervalMs`
 * (`auth.revocation_check_ms`), and a changed revision empties the cache. One small read per
 * interval, shared by all requests in flight, instead of a key lookup per request.
 *
 * When the read fails the cache is emptied and the error is thrown: the caller then reads the
 * key itself (and fails the same way if storage is down), never trusts a stale cache.
 */
export interface RevisionCheck {
  /** Resolves once the cache reflects every revocation older than `intervalMs`. */
  confirm(now: number): Promise<void>;
  /** Whether `confirm(now)` has anything to wait for (a read is due). */
  due(now: number): boolean;
}

export function createRevisionCheck(deps: {
  cache: KeyCache;
  readRevision: () => Promise<string | undefined>;
  intervalMs: number;
}): RevisionCheck {
  const { cache, readRevision, intervalMs } = deps;
  let known: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  const check = async (startedAt: number): Promise<void> => {
    try {
      const revision = (await readRevision()) ?? "";
      // The first read clears too: entries cached before it may predate a revocation.
      if (revision !== known) {
        known = revision;
        cache.clear();
      }
      checkedAt = startedAt;
    } catch (err) {
      known = undefined;
      cache.clear();
      throw err;
    }
  };

  const due = (now: number): boolean => cache.enabled && now - checkedAt >= intervalMs;

  return {
    due,
    confirm(now) {
      if (!due(now)) return Promise.resolve();
      inFlight ??= check(now).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
