import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { entryHash } from "../src/audit/chain.ts";
import { createAuditService, type AuditService } from "../src/audit/index.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";

/**
 * Someone with direct database access edits, deletes or reorders audit rows with raw SQL,
 * bypassing Keel. Verification must notice and name the entry, on every engine.
 */
for (const engine of engines()) {
  describe(`audit tampering on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    let audit: AuditService;
    let ids: string[];

    before(async () => {
      database = await engine.open();
      audit = createAuditService(database.db, { pageSize: 4 });
    });
    after(async () => {
      await database?.dispose();
    });
    beforeEach(async () => {
      await sql`delete from audit_log`.execute(database.db);
      const entries = await audit.appendMany(
        Array.from({ length: 10 }, (_, i) => ({
          action: "keys.create",
          outcome: "success" as const,
          actor_key_id: "key_admin",
          resource_type: "key",
          resource_id: `key_${i + 1}`,
          details: { name: `key ${i + 1}` },
        })),
      );
      ids = entries.map((e) => e.id);
      assert.equal((await audit.verify()).ok, true);
    });

    async function firstBad() {
      const result = await audit.verify();
      assert.equal(result.ok, false);
      const rows = await sql<{ n: number | string }>`select count(*) as n from audit_log`.execute(
        database.db,
      );
      assert.equal(result.entries, Number(rows.rows[0]!.n), "the whole log is walked");
      return result.first_bad!;
    }

    test("an edited entry is named", async () => {
      await sql`update audit_log set outcome = 'denied' where seq = 5`.execute(database.db);
      assert.deepEqual(pick(await firstBad()), { seq: 5, id: ids[4], reason: "hash_mismatch" });
    });

    test("edited details or a backdated time are named", async () => {
      await sql`update audit_log set details = ${'{"name":"someone else"}'} where seq = 3`.execute(
        database.db,
      );
      assert.deepEqual(pick(await firstBad()), { seq: 3, id: ids[2], reason: "hash_mismatch" });
      await sql`delete from audit_log`.execute(database.db);
      await audit.appendMany([1, 2, 3].map(() => ({ action: "a.b", outcome: "success" as const })));
      await sql`update audit_log set created_at = created_at - 86400000 where seq = 2`.execute(
        database.db,
      );
      assert.equal((await firstBad()).reason, "hash_mismatch");
    });

    test("an entry edited and re-hashed is named by the link after it", async () => {
      const row = await database.db
        .selectFrom("audit_log")
        .selectAll()
        .where("seq", "=", 5)
        .executeTakeFirstOrThrow();
      const forged = entryHash({ ...row, outcome: "denied" });
      await sql`update audit_log set outcome = 'denied', hash = ${forged} where seq = 5`.execute(
        database.db,
      );
      assert.deepEqual(pick(await firstBad()), { seq: 6, id: ids[5], reason: "prev_mismatch" });
    });

    test("a deleted entry is named", async () => {
      await sql`delete from audit_log where seq = 4`.execute(database.db);
      const bad = await firstBad();
      assert.deepEqual(pick(bad), { seq: 5, id: ids[4], reason: "seq_gap" });
      assert.match(bad.message, /entries 4\.\.4 are missing/);
    });

    test("a deleted entry with the later ones renumbered is named", async () => {
      await sql`delete from audit_log where seq = 4`.execute(database.db);
      for (let seq = 5; seq <= 10; seq++) {
        await sql`update audit_log set seq = ${seq - 1} where seq = ${seq}`.execute(database.db);
      }
      const bad = await firstBad();
      assert.equal(bad.seq, 4);
      assert.equal(bad.id, ids[4]);
      assert.equal(bad.reason, "prev_mismatch");
    });

    test("reordered entries are named", async () => {
      await sql`update audit_log set seq = -1 where seq = 7`.execute(database.db);
      await sql`update audit_log set seq = 7 where seq = 8`.execute(database.db);
      await sql`update audit_log set seq = 8 where seq = -1`.execute(database.db);
      assert.deepEqual(pick(await firstBad()), { seq: 7, id: ids[7], reason: "prev_mismatch" });
    });

    test("swapped entry contents are named", async () => {
      const rows = await sql<Record<string, unknown>>`
        select * from audit_log where seq in (2, 3) order by seq`.execute(database.db);
      const [two, three] = rows.rows as [Record<string, unknown>, Record<string, unknown>];
      await sql`update audit_log set id = 'tmp' where seq = 2`.execute(database.db);
      for (const [seq, row] of [
        [3, two],
        [2, three],
      ] as const) {
        await sql`update audit_log set id = ${row.id}, resource_id = ${row.resource_id},
          details = ${row.details}, prev_hash = ${row.prev_hash}, hash = ${row.hash}
          where seq = ${seq}`.execute(database.db);
      }
      assert.deepEqual(pick(await firstBad()), { seq: 2, id: ids[2], reason: "prev_mismatch" });
    });

    test("an untouched log keeps verifying as entries are appended", async () => {
      await audit.append({ action: "keys.revoke", outcome: "success" });
      const result = await audit.verify();
      assert.equal(result.ok, true);
      assert.equal(result.entries, 11);
    });
  });
}

function pick(bad: { seq: number; id: string; reason: string }) {
  return { seq: bad.seq, id: bad.id, reason: bad.reason };
}
