import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { CompiledQuery } from "kysely";
import { engines, type TestDatabase } from "../../../test/helpers/engines.ts";
import { columnList, insertRows } from "./insert-rows.ts";
import type { KeelMetaTable } from "./tables.ts";

const COLUMNS = columnList<KeelMetaTable>({ key: true, value: true, updated_at: true });

function metaRows(count: number, prefix: string): KeelMetaTable[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `${prefix}-${String(i).padStart(5, "0")}`,
    // Quotes, a question mark and a dollar sign: values travel as parameters, never as SQL.
    value: i % 7 === 0 ? `it's "${i}"? $1` : String(i),
    updated_at: 1_700_000_000_000 + i,
  }));
}

for (const engine of engines()) {
  describe(`insertRows on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    before(async () => {
      database = await engine.open();
    });
    after(async () => database.dispose());

    async function stored(prefix: string): Promise<KeelMetaTable[]> {
      const rows = await database.db
        .selectFrom("keel_meta")
        .selectAll()
        .where("key", "like", `${prefix}-%`)
        .orderBy("key")
        .execute();
      return rows.map((r) => ({ ...r, updated_at: Number(r.updated_at) }));
    }

    for (const count of [1, 3, 200, 256, 1_000]) {
      test(`a batch of ${count} is written with every value as given`, async () => {
        const rows = metaRows(count, `n${count}`);
        await insertRows(database.db, "keel_meta", COLUMNS, rows);
        assert.deepEqual(await stored(`n${count}`), rows);
      });
    }

    test("no rows is no statement", async (t) => {
      const seen = spyOnQueries(t, database);
      await insertRows(database.db, "keel_meta", COLUMNS, []);
      assert.equal(seen.length, 0);
    });

    test("a batch goes out in power-of-two statements, so few statement texts repeat", async (t) => {
      const seen = spyOnQueries(t, database);
      await insertRows(database.db, "keel_meta", COLUMNS, metaRows(200, "split"));
      await insertRows(database.db, "keel_meta", COLUMNS, metaRows(72, "again"));
      const rowsPer = seen.map((q) => q.parameters.length / COLUMNS.length);
      assert.deepEqual(rowsPer, [128, 64, 8, 64, 8]);
      assert.equal(new Set(seen.map((q) => q.sql)).size, 3, "64 and 8 rows reuse their text");
    });

    test("a failing statement rejects (the caller's transaction decides what is kept)", async () => {
      const rows = metaRows(3, "dup");
      await insertRows(database.db, "keel_meta", COLUMNS, rows);
      await assert.rejects(insertRows(database.db, "keel_meta", COLUMNS, rows));
    });
  });
}

/** The compiled queries the database runs during the test (the spy goes when the test ends). */
function spyOnQueries(t: TestContext, database: TestDatabase): CompiledQuery[] {
  const seen: CompiledQuery[] = [];
  const db = database.db as unknown as { executeQuery(q: CompiledQuery): Promise<unknown> };
  const original = db.executeQuery.bind(db);
  t.mock.method(db, "executeQuery", (q: CompiledQuery) => {
    seen.push(q);
    return original(q);
  });
  return seen;
}
