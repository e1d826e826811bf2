import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Kysely, sql } from "kysely";
import { nodeSqliteDialect } from "./node-sqlite-dialect.ts";

interface Db {
  items: { id: number; name: string };
}

function open(): Kysely<Db> {
  const database = new DatabaseSync(":memory:");
  database.exec("create table items (id integer primary key, name text not null)");
  return new Kysely<Db>({ dialect: nodeSqliteDialect(database) });
}

describe("node:sqlite dialect", () => {
  test("a query run again sees the rows written in between", async () => {
    const db = open();
    const count = async () =>
      Number(
        (
          await db
            .selectFrom("items")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    for (let i = 1; i <= 3; i++) {
      await db
        .insertInto("items")
        .values({ id: i, name: `item ${i}` })
        .execute();
      assert.equal(await count(), i);
    }
    await db.destroy();
  });

  test("a stream left unfinished does not disturb the same query afterwards", async () => {
    const db = open();
    await db
      .insertInto("items")
      .values([1, 2, 3].map((id) => ({ id, name: `item ${id}` })))
      .execute();
    const query = db.selectFrom("items").select("id").orderBy("id");
    for await (const row of query.stream()) {
      assert.equal(row.id, 1);
      break;
    }
    assert.deepEqual(
      (await query.execute()).map((row) => row.id),
      [1, 2, 3],
    );
    await db.destroy();
  });

  test("a query run before a schema change still answers after it", async () => {
    const db = open();
    await db.insertInto("items").values({ id: 1, name: "a" }).execute();
    const select = () => sql<Record<string, unknown>>`select * from items`.execute(db);
    assert.deepEqual(Object.keys((await select()).rows[0]!), ["id", "name"]);
    await sql`alter table items add column size integer`.execute(db);
    assert.deepEqual(Object.keys((await select()).rows[0]!), ["id", "name", "size"]);
    await db.destroy();
  });
});
