import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { identityFor } from "./identity.ts";
import { createKeyCache, type CachedKey } from "./key-cache.ts";
import { createRevisionCheck } from "./revision-check.ts";

const key: CachedKey = {
  id: "key_1",
  expiresAt: null,
  identity: identityFor({ id: "key_1", projectId: null, role: "viewer", models: null }),
};

/** A check over a fresh cache whose reads are counted (and fail while `state.fail`). */
function counted(intervalMs: number, state = { fail: false, reads: 0 }) {
  const cache = createKeyCache(60_000);
  const check = createRevisionCheck({
    cache,
    intervalMs,
    readRevision: async () => {
      state.reads++;
      if (state.fail) throw new Error("database is down");
      return "r1";
    },
  });
  return { cache, check, state };
}

describe("key cache revision check", () => {
  test("reads the revision at most once per interval, shared by concurrent requests", async () => {
    const { check, state } = counted(1_000);
    await Promise.all([check.confirm(0), check.confirm(1), check.confirm(2)]);
    assert.equal(state.reads, 1);
    await check.confirm(999);
    assert.equal(state.reads, 1);
    await check.confirm(1_000);
    assert.equal(state.reads, 2);
  });

  test("a changed revision empties the cache; an unchanged one keeps it", async () => {
    const cache = createKeyCache(60_000);
    let revision = "r1";
    const check = createRevisionCheck({
      cache,
      intervalMs: 10,
      readRevision: async () => revision,
    });
    await check.confirm(0);
    cache.set("h", key, 0, cache.generation);
    await check.confirm(10);
    assert.deepEqual(cache.get("h", 10), key);
    revision = "r2";
    await check.confirm(20);
    assert.equal(cache.get("h", 20), undefined);
  });

  test("a key read before a clear is not cached after it", async () => {
    const cache = createKeyCache(60_000);
    const taken = cache.generation;
    cache.clear(); // a revocation was noticed while the key's row was being read
    cache.set("h", key, 0, taken);
    assert.equal(cache.get("h", 0), undefined);
    cache.set("h", key, 0, cache.generation);
    assert.deepEqual(cache.get("h", 0), key);
  });

  test("a failed read empties the cache and is retried on the next request", async () => {
    const { cache, check, state } = counted(1_000);
    await check.confirm(0);
    cache.set("h", key, 0, cache.generation);
    state.fail = true;
    await assert.rejects(check.confirm(1_000), /database is down/);
    assert.equal(cache.get("h", 1_000), undefined);
    state.fail = false;
    await check.confirm(1_001);
    assert.equal(state.reads, 3);
  });

  test("a disabled cache never reads", async () => {
    let reads = 0;
    const check = createRevisionCheck({
      cache: createKeyCache(0),
      intervalMs: 0,
      readRevision: async () => {
        reads++;
        return "r";
      },
    });
    await check.confirm(0);
    assert.equal(reads, 0);
  });
});
