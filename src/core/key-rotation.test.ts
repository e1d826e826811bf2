import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { engines, type TestDatabase } from "../../test/helpers/engines.ts";
import { MasterKey, ciphertextKeyId } from "./crypto.ts";
import { Keyring } from "./keyring.ts";
import { readProgress, rotateMasterKey, type EncryptedColumn } from "./key-rotation.ts";

const oldKey = new MasterKey(Buffer.alloc(32, 1));
const newKey = new MasterKey(Buffer.alloc(32, 2));
const lostKey = new MasterKey(Buffer.alloc(32, 3));
const vault: EncryptedColumn = { table: "test_vault", idColumn: "id", column: "secret" };
const hooks: EncryptedColumn = { table: "test_hooks", idColumn: "id", column: "signing_secret" };

class Interrupted extends Error {}

for (const engine of engines()) {
  describe(`master key rotation on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;

    before(async () => {
      database = await engine.open();
    });
    after(async () => {
      await database?.dispose();
    });

    async function seed(table: string, column: string, rows: number, key: MasterKey) {
      await sql`create table ${sql.table(table)} (id text primary key, ${sql.ref(column)} text)`.execute(
        database.db,
      );
      for (let i = 0; i < rows; i++) {
        const id = `row_${String(i).padStart(3, "0")}`;
        const value = i === 3 ? null : key.encrypt(`secret-${i}`, { table, column, id });
        await sql`insert into ${sql.table(table)} (id, ${sql.ref(column)}) values (${id}, ${value})`.execute(
          database.db,
        );
      }
    }

    async function values(column: EncryptedColumn) {
      const result = await sql<{ id: string; value: string | null }>`
        select id, ${sql.ref(column.column)} as value from ${sql.table(column.table)} order by id`.execute(
        database.db,
      );
      return result.rows;
    }

    test("an interrupted rotation resumes and leaves every row under the new key", async () => {
      await seed(vault.table, vault.column, 25, oldKey);
      await seed(hooks.table, hooks.column, 7, oldKey);
      const keyring = new Keyring(newKey, [oldKey]);
      const columns = [vault, hooks];

      let batches = 0;
      await assert.rejects(
        rotateMasterKey({
          db: database.db,
          keyring,
          columns,
          batchSize: 5,
          onBatch: () => {
            if (++batches === 2) throw new Interrupted("stopped after 10 rows");
          },
        }),
        Interrupted,
      );
      const midway = await values(vault);
      const underNew = midway.filter(
        (r) => r.value !== null && ciphertextKeyId(r.value) === newKey.id,
      );
      assert.equal(underNew.length, 10, "the two committed batches of 5 are rotated");
      // Row 3 holds no value; rows after the first 10 values are untouched.
      assert.ok(
        midway.slice(11).every((r) => r.value !== null && ciphertextKeyId(r.value) === oldKey.id),
      );
      assert.equal((await readProgress(database.db))?.completed_at, null);

      const result = await rotateMasterKey({ db: database.db, keyring, columns, batchSize: 5 });
      assert.equal(result.resumed, true);
      assert.equal(result.keyId, newKey.id);
      assert.equal(result.rotated, 24 + 6);
      assert.equal(result.skipped, 0);

      // Only the new key is needed now: the old one can go.
      const onlyNew = new Keyring(newKey);
      for (const column of columns) {
        for (const row of await values(column)) {
          if (row.value === null) continue;
          assert.equal(ciphertextKeyId(row.value), newKey.id);
          const context = { table: column.table, column: column.column, id: row.id };
          assert.equal(onlyNew.decrypt(row.value, context), `secret-${Number(row.id.slice(4))}`);
        }
      }
      assert.equal(typeof (await readProgress(database.db))?.completed_at, "number");
    });

    test("running it again skips rows already under the new key", async () => {
      const keyring = new Keyring(newKey, [oldKey]);
      const result = await rotateMasterKey({ db: database.db, keyring, columns: [vault, hooks] });
      assert.deepEqual(
        { resumed: result.resumed, rotated: result.rotated, skipped: result.skipped },
        { resumed: false, rotated: 0, skipped: 24 + 6 },
      );
    });

    test("a failure inside a batch rolls that batch back and names the missing key", async () => {
      const table = "test_mixed";
      await seed(table, "secret", 12, newKey);
      const column = { table, idColumn: "id", column: "secret" };
      // Row 7 was sealed by a key the rotation is not given.
      const id = "row_007";
      const foreign = lostKey.encrypt("secret-7", { table, column: "secret", id });
      await sql`update test_mixed set secret = ${foreign} where id = ${id}`.execute(database.db);

      const target = new MasterKey(Buffer.alloc(32, 4));
      await assert.rejects(
        rotateMasterKey({
          db: database.db,
          keyring: new Keyring(target, [newKey]),
          columns: [column],
          batchSize: 5,
        }),
        (err: Error) => err.message.includes(lostKey.id) && err.message.includes(id),
      );
      const rows = await values(column);
      const keyIds = rows.map((r) => (r.value === null ? null : ciphertextKeyId(r.value)));
      // The first batch (rows 0-5, row 3 empty) committed; the second (6-10) failed at row 7.
      assert.deepEqual(keyIds.slice(0, 6), [
        target.id,
        target.id,
        target.id,
        null,
        target.id,
        target.id,
      ]);
      assert.deepEqual(
        keyIds.slice(6, 8),
        [newKey.id, lostKey.id],
        "the failed batch is rolled back",
      );

      const result = await rotateMasterKey({
        db: database.db,
        keyring: new Keyring(target, [newKey, lostKey]),
        columns: [column],
        batchSize: 5,
      });
      assert.equal(result.resumed, true);
      assert.equal(result.rotated, 11);
      for (const row of await values(column)) {
        if (row.value !== null) assert.equal(ciphertextKeyId(row.value), target.id);
      }
    });

    test("bad table or column names are refused before any SQL runs", async () => {
      await assert.rejects(
        rotateMasterKey({
          db: database.db,
          keyring: new Keyring(newKey),
          columns: [{ table: "x; drop table keel_meta", idColumn: "id", column: "v" }],
        }),
        /not a valid table or column name/,
      );
    });
  });
}
