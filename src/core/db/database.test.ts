import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { engines, type TestDatabase } from "../../../test/helpers/engines.ts";

for (const engine of engines()) {
  describe(`database on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase | undefined;
    after(async () => database?.dispose());

    test("migrations create the tables and are idempotent", async () => {
      database = await engine.open();
      await database.ping();
      const row = {
        key: "schema_check",
        value: "1",
        updated_at: 1_700_000_000_000,
      };
      await database.db.insertInto("keel_meta").values(row).execute();
      const back = await database.db
        .selectFrom("keel_meta")
        .selectAll()
        .where("key", "=", "schema_check")
        .executeTakeFirstOrThrow();
      // bigint columns come back as numbers on both engines.
      assert.deepEqual({ ...back }, row);
    });

    test("writes in a transaction are atomic", async () => {
      assert.ok(database);
      const db = database.db;
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx
            .insertInto("keel_meta")
            .values({ key: "tx", value: "a", updated_at: 1 })
            .execute();
          throw new Error("roll back");
        }),
      );
      const rows = await db.selectFrom("keel_meta").selectAll().where("key", "=", "tx").execute();
      assert.equal(rows.length, 0);
    });
  });
}
