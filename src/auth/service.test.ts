import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { engines, type TestDatabase } from "../../test/helpers/engines.ts";
import { openDatabase } from "../core/db/database.ts";
import { KeelError } from "../core/errors.ts";
import { bootstrapAdminKey } from "./bootstrap.ts";
import type { Identity } from "./identity.ts";
import { hashKey } from "./key-material.ts";
import { createAuthService, type AuthService } from "./service.ts";

const HOUR = 3_600_000;

function bearer(key: string): string {
  return `Bearer ${key}`;
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KeelError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

for (const engine of engines()) {
  describe(`auth service on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    const clock = { now: Date.UTC(2026, 0, 1) };
    let service: AuthService;
    let owner: Identity;
    let ownerKey = "";
    let projectId = "";

    before(async () => {
      database = await engine.open();
      service = createAuthService({ db: database.db, now: () => clock.now });
      await bootstrapAdminKey({ service, print: (key) => (ownerKey = key) });
      owner = await service.authenticate(bearer(ownerKey));
      projectId = (await service.createProject(owner, { name: "shop" })).id;
    });
    after(async () => database?.dispose());

    test("only the hash of a key is stored: the key appears nowhere in the database", async () => {
      const created = await service.createKey(owner, {
        name: "ci",
        role: "service",
        project_id: projectId,
      });
      assert.match(created.key, /^sk-keel-[0-9A-Za-z]{43}$/);
      assert.equal(created.prefix, created.key.slice(0, 12));
      const rows = await database.db.selectFrom("api_keys").selectAll().execute();
      const dump = JSON.stringify(rows);
      for (const key of [created.key, ownerKey]) {
        assert.ok(!dump.includes(key), "no full key");
        assert.ok(!dump.includes(key.slice(12)), "no key body");
        assert.ok(dump.includes(hashKey(key)), "its hash");
      }
      // The whole database as text, every table: no trace of the key.
      const tables = ["api_keys", "projects", "keel_meta"] as const;
      for (const table of tables) {
        const all = await sql`select * from ${sql.table(table)}`.execute(database.db);
        assert.ok(!JSON.stringify(all.rows).includes(created.key.slice(12)), table);
      }
      const listed = await service.listKeys(owner, { include_revoked: "true" });
      assert.ok(!JSON.stringify(listed).includes(created.key.slice(12)), "listings: prefix only");
      assert.ok(!JSON.stringify(listed).includes(hashKey(created.key)), "listings: no hash");
    });

    test("a new key works at once and carries its project, role and models", async () => {
      const created = await service.createKey(owner, {
        name: "bot",
        role: "service",
        project_id: projectId,
        models: ["small", "small"],
      });
      const identity = await service.authenticate(bearer(created.key));
      assert.equal(identity.keyId, created.id);
      assert.equal(identity.projectId, projectId);
      assert.equal(identity.role, "service");
      assert.deepEqual(identity.models, ["small"]);
      assert.deepEqual([...identity.permissions], ["models:invoke"]);
    });

    test("revocation takes effect on the very next request", async () => {
      const created = await service.createKey(owner, {
        name: "r",
        role: "viewer",
        project_id: projectId,
      });
      await service.authenticate(bearer(created.key));
      const revoked = await service.revokeKey(owner, created.id);
      assert.equal(revoked.status, "revoked");
      await rejectsWith(service.authenticate(bearer(created.key)), "unauthorized", /revoked/);
      const again = await service.revokeKey(owner, created.id);
      assert.equal(again.revoked_at, revoked.revoked_at, "idempotent");
    });

    test("expiry takes effect the moment it passes", async () => {
      const created = await service.createKey(owner, {
        name: "e",
        role: "viewer",
        project_id: projectId,
        expires_at: clock.now + HOUR,
      });
      await service.authenticate(bearer(created.key));
      clock.now += HOUR - 1;
      await service.authenticate(bearer(created.key));
      clock.now += 1;
      await rejectsWith(service.authenticate(bearer(created.key)), "unauthorized", /expired at/);
      assert.equal((await service.getKey(owner, created.id)).status, "expired");
    });

    test("an expiry in the past is refused, naming expires_at", async () => {
      await assert.rejects(
        service.createKey(owner, { name: "p", role: "viewer", expires_at: clock.now - 1 }),
        (err: unknown) => err instanceof KeelError && err.param === "expires_at",
      );
    });

    test("rotation revokes the old key at once and returns a new one", async () => {
      const old = await service.createKey(owner, {
        name: "app",
        role: "developer",
        project_id: projectId,
      });
      const next = await service.rotateKey(owner, old.id, { grace_seconds: 0 });
      assert.notEqual(next.key, old.key);
      assert.equal(next.rotated_from, old.id);
      assert.equal(next.name, "app");
      assert.equal(next.role, "developer");
      assert.equal(next.project_id, projectId);
      await rejectsWith(service.authenticate(bearer(old.key)), "unauthorized", /revoked/);
      assert.equal((await service.authenticate(bearer(next.key))).keyId, next.id);
      await rejectsWith(
        service.rotateKey(owner, old.id, { grace_seconds: 0 }),
        "conflict",
        /revoked/,
      );
    });

    test("rotation with a grace period keeps the old key working until it ends", async () => {
      const old = await service.createKey(owner, {
        name: "web",
        role: "service",
        project_id: projectId,
      });
      const next = await service.rotateKey(owner, old.id, { grace_seconds: 60 });
      await service.authenticate(bearer(old.key));
      await service.authenticate(bearer(next.key));
      clock.now += 60_000;
      await rejectsWith(service.authenticate(bearer(old.key)), "unauthorized", /expired/);
      await service.authenticate(bearer(next.key));
    });

    test("unknown ids are 404", async () => {
      await rejectsWith(service.getKey(owner, "key_nope"), "not_found", /key_nope not found/);
      await rejectsWith(service.getProject(owner, "prj_nope"), "not_found", /prj_nope not found/);
      await rejectsWith(
        service.listKeys(owner, { project_id: "prj_nope", include_revoked: "false" }),
        "not_found",
        /prj_nope not found/,
      );
      await rejectsWith(
        service.createKey(owner, { name: "x", role: "viewer", project_id: "prj_nope" }),
        "not_found",
        /prj_nope not found/,
      );
    });

    test("a taken project name is a 409 naming the field", async () => {
      await assert.rejects(
        service.createProject(owner, { name: "shop" }),
        (err: unknown) =>
          err instanceof KeelError && err.code === "conflict" && err.param === "name",
      );
    });

    /** Another replica on the same database, caching keys for ten minutes. */
    const replica = (revocationCheckMs: number) =>
      createAuthService({
        db: database.db,
        keyCacheMs: 600_000,
        revocationCheckMs,
        now: () => clock.now,
      });

    test("a cached key is revoked at once on this replica, and within the check interval on others", async () => {
      const cached = replica(1_000);
      const other = replica(1_000);
      const created = await service.createKey(owner, {
        name: "c",
        role: "viewer",
        project_id: projectId,
      });
      await cached.authenticate(bearer(created.key));
      await other.authenticate(bearer(created.key));

      await cached.revokeKey(owner, created.id);
      assert.equal(cached.cachedIdentity(bearer(created.key)), undefined, "forgotten at once");
      await rejectsWith(cached.authenticate(bearer(created.key)), "unauthorized", /revoked/);
      // The other replica read the revision less than a second ago: it still trusts memory…
      await other.authenticate(bearer(created.key));
      assert.equal(other.cachedIdentity(bearer(created.key))?.keyId, created.id);
      // …and notices within revocation_check_ms, far inside the cache lifetime: the check is
      // due, so the key is no longer answered from memory without it.
      clock.now += 1_000;
      assert.equal(other.cachedIdentity(bearer(created.key)), undefined);
      await rejectsWith(other.authenticate(bearer(created.key)), "unauthorized", /revoked/);
    });

    test("a rotation without grace elsewhere ends the old key within the check interval", async () => {
      const other = replica(500);
      const old = await service.createKey(owner, {
        name: "r",
        role: "viewer",
        project_id: projectId,
      });
      await other.authenticate(bearer(old.key));
      const next = await service.rotateKey(owner, old.id, { grace_seconds: 0 });
      clock.now += 500;
      await rejectsWith(other.authenticate(bearer(old.key)), "unauthorized", /revoked/);
      await other.authenticate(bearer(next.key));
    });

    test("a cached key still expires on time", async () => {
      const cached = createAuthService({
        db: database.db,
        keyCacheMs: 60_000,
        // Longer than the test: the key is answered from memory, where expiry must hold too.
        revocationCheckMs: 60_000,
        now: () => clock.now,
      });
      const created = await service.createKey(owner, {
        name: "ce",
        role: "viewer",
        project_id: projectId,
        expires_at: clock.now + 1_000,
      });
      const identity = await cached.authenticate(bearer(created.key));
      assert.equal(cached.cachedIdentity(bearer(created.key)), identity);
      clock.now += 1_000;
      assert.throws(() => cached.cachedIdentity(bearer(created.key)), /expired/);
      await rejectsWith(cached.authenticate(bearer(created.key)), "unauthorized", /expired/);
    });

    test("only a key verified before is answered from memory; a malformed header is a 401", () => {
      const cached = replica(60_000);
      assert.equal(cached.cachedIdentity(bearer(`sk-keel-${"Z9y8X7w6".repeat(5)}`)), undefined);
      assert.throws(
        () => cached.cachedIdentity("Basic dXNlcjpwYXNz"),
        (err: unknown) => err instanceof KeelError && err.code === "unauthorized",
      );
      assert.throws(
        () => cached.cachedIdentity(undefined),
        (err: unknown) => err instanceof KeelError && err.code === "unauthorized",
      );
    });

    test("last use is recorded", async () => {
      const created = await service.createKey(owner, {
        name: "u",
        role: "viewer",
        project_id: projectId,
      });
      assert.equal((await service.getKey(owner, created.id)).last_used_at, null);
      await service.authenticate(bearer(created.key));
      assert.equal(
        (await service.getKey(owner, created.id)).last_used_at,
        new Date(clock.now).toISOString(),
      );
    });
  });

  describe(`first-start admin key on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    before(async () => {
      database = await engine.open();
    });
    after(async () => database?.dispose());

    test("is generated and printed once, never again, even after every key is revoked", async () => {
      const service = createAuthService({ db: database.db });
      const printed: string[] = [];
      const print = (key: string) => printed.push(key);
      assert.equal(await bootstrapAdminKey({ service, print }), "generated");
      assert.equal(printed.length, 1);
      const owner = await service.authenticate(bearer(printed[0]!));
      assert.equal(owner.role, "owner");
      assert.equal(owner.projectId, null);

      await service.revokeKey(owner, owner.keyId!);
      const restarted = createAuthService({ db: database.db });
      assert.equal(await bootstrapAdminKey({ service: restarted, print }), "already_bootstrapped");
      assert.equal(printed.length, 1);
    });

    test("KEEL_ADMIN_KEY is stored once and works; a revoked one stays revoked", async () => {
      const service = createAuthService({ db: database.db });
      const adminKey = `sk-keel-${"A1b2C3d4".repeat(5)}`;
      const print = () => assert.fail("an operator-supplied key is never printed");
      assert.equal(await bootstrapAdminKey({ service, adminKey, print }), "stored_admin_key");
      assert.equal(await bootstrapAdminKey({ service, adminKey, print }), "admin_key_known");
      const owner = await service.authenticate(bearer(adminKey));
      assert.equal(owner.role, "owner");
      await service.revokeKey(owner, owner.keyId!);
      assert.equal(await bootstrapAdminKey({ service, adminKey, print }), "admin_key_known");
      await rejectsWith(service.authenticate(bearer(adminKey)), "unauthorized", /revoked/);
    });

    test("a malformed KEEL_ADMIN_KEY stops the start with the expected format", async () => {
      const service = createAuthService({ db: database.db });
      await rejectsWith(
        bootstrapAdminKey({ service, adminKey: "hunter2", print: () => undefined }),
        "config_invalid",
        /KEEL_ADMIN_KEY: an API key is sk-keel- followed by/,
      );
    });
  });
}

describe("keys on disk (SQLite)", () => {
  test("the database files hold no byte sequence of a key, only its hash", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-auth-disk-"));
    try {
      const database = await openDatabase({ dataDir: dir });
      const service = createAuthService({ db: database.db });
      let ownerKey = "";
      await bootstrapAdminKey({ service, print: (key) => (ownerKey = key) });
      const owner = await service.authenticate(bearer(ownerKey));
      const created = await service.createKey(owner, { name: "disk", role: "service" });
      await service.rotateKey(owner, created.id, { grace_seconds: 0 });
      await database.close();
      const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
      for (const key of [ownerKey, created.key]) {
        assert.equal(bytes.indexOf(key.slice(12)), -1, "no key body on disk");
        assert.notEqual(bytes.indexOf(hashKey(key)), -1, "the hash is there");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
