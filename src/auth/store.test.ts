import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { engines, type TestDatabase } from "../../test/helpers/engines.ts";
import { newId } from "../core/ids.ts";
import { createAuthStore, type AuthStore, type KeyRow } from "./store.ts";

function keyRow(overrides: Partial<KeyRow> = {}): KeyRow {
  const at = 1_700_000_000_000;
  return {
    id: newId("key", at),
    project_id: null,
    name: "k",
    role: "viewer",
    prefix: "sk-keel-AbCd",
    hash: newId("key").toLowerCase(),
    models: null,
    limits: null,
    created_at: at,
    expires_at: null,
    revoked_at: null,
    last_used_at: null,
    rotated_from: null,
    ...overrides,
  };
}

for (const engine of engines()) {
  describe(`auth store on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    let store: AuthStore;
    before(async () => {
      database = await engine.open();
      store = createAuthStore(database.db);
    });
    after(async () => database?.dispose());

    test("project names are unique", async () => {
      const row = { id: newId("project"), name: "alpha", created_at: 1, limits: null };
      assert.equal(await store.insertProject(row), true);
      assert.equal(await store.insertProject({ ...row, id: newId("project") }), false);
      assert.deepEqual({ ...(await store.getProject(row.id)) }, row);
    });

    test("a key is found by its hash, and a second key with that hash is refused", async () => {
      const row = keyRow({ models: '["a"]', limits: '{"requests_per_minute":5}' });
      await store.insertKey(row);
      assert.deepEqual({ ...(await store.findKeyByHash(row.hash)) }, row);
      assert.equal(await store.insertKeyIfAbsent(keyRow({ hash: row.hash })), false);
      await assert.rejects(store.insertKey(keyRow({ hash: row.hash })));
    });

    test("listing filters by project and hides revoked keys unless asked", async () => {
      const project = { id: newId("project"), name: "beta", created_at: 1, limits: null };
      await store.insertProject(project);
      const live = keyRow({ project_id: project.id });
      const gone = keyRow({ project_id: project.id, revoked_at: 5 });
      await store.insertKey(live);
      await store.insertKey(gone);
      const active = await store.listKeys({ projectId: project.id, includeRevoked: false });
      assert.deepEqual(
        active.map((k) => k.id),
        [live.id],
      );
      const all = await store.listKeys({ projectId: project.id, includeRevoked: true });
      assert.equal(all.length, 2);
      const global = await store.listKeys({ projectId: null, includeRevoked: true });
      assert.ok(global.every((k) => k.project_id === null));
    });

    test("a key cannot be attached to a project that does not exist", async () => {
      await assert.rejects(store.insertKey(keyRow({ project_id: "prj_missing" })));
    });

    test("revoking twice keeps the first revocation time", async () => {
      const row = keyRow();
      await store.insertKey(row);
      assert.equal(await store.revokeKey(row.id, 10), true);
      assert.equal(await store.revokeKey(row.id, 20), false);
      assert.equal((await store.getKey(row.id))?.revoked_at, 10);
    });

    test("rotation adds the new key and ends the old one together, once", async () => {
      const old = keyRow();
      await store.insertKey(old);
      const next = keyRow({ rotated_from: old.id });
      assert.equal(await store.rotateKey(next, old.id, { expiresAt: 99 }), true);
      assert.equal((await store.getKey(old.id))?.expires_at, 99);
      assert.equal((await store.getKey(next.id))?.rotated_from, old.id);

      await store.revokeKey(old.id, 100);
      const again = keyRow({ rotated_from: old.id });
      assert.equal(await store.rotateKey(again, old.id, { revokedAt: 101 }), false);
      assert.equal(await store.getKey(again.id), undefined, "no new key for a revoked one");
    });

    test("the first-start key is claimed once, even when two starts race", async () => {
      assert.equal(await store.bootstrapped(), false);
      const first = keyRow({ role: "owner" });
      const second = keyRow({ role: "owner" });
      const results = await Promise.all([
        store.claimBootstrap(first),
        store.claimBootstrap(second),
      ]);
      assert.deepEqual(
        results.toSorted((a, b) => Number(a) - Number(b)),
        [false, true],
      );
      assert.equal(await store.bootstrapped(), true);
      const winner = results[0] ? first : second;
      const loser = results[0] ? second : first;
      assert.ok(await store.getKey(winner.id));
      assert.equal(await store.getKey(loser.id), undefined);
    });
  });
}
