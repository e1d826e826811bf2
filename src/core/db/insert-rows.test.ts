import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { engines, type TestDatabase } from "../../../test/helpers/engines.ts";
import { columnList, insertQueries } from "./insert-rows.ts";
import { runInTransaction, runSteps } from "./steps.ts";
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

    const insert = (rows: KeelMetaTable[]) =>
      runInTransaction(database.db, insertQueries(database.db, "keel_meta", COLUMNS, rows));

    for (const count of [1, 3, 200, 256, 1_000]) {
      test(`a batch of ${count} is written with every value as given`, async () => {
        const rows = metaRows(count, `n${count}`);
        await insert(rows);
        assert.deepEqual(await stored(`n${count}`), rows);
      });
    }

    test("a batch goes out in power-of-two statements, so few statement texts repeat", () => {
      const first = insertQueries(database.db, "keel_meta", COLUMNS, metaRows(200, "a"));
      const second = insertQueries(database.db, "keel_meta", COLUMNS, metaRows(72, "b"));
      const rowsPer = [...first, ...second].map((q) => q.parameters.length / COLUMNS.length);
      assert.deepEqual(rowsPer, [128, 64, 8, 64, 8]);
      assert.equal(new Set([...first, ...second].map((q) => q.sql)).size, 3);
      assert.deepEqual(insertQueries(database.db, "keel_meta", COLUMNS, []), []);
    });

    test("one failing statement keeps nothing of the batch, and the next batch goes in", async () => {
      await insert(metaRows(3, "dup"));
      const batch = [...metaRows(300, "undone"), ...metaRows(1, "dup")];
      await assert.rejects(insert(batch));
      assert.deepEqual(await stored("undone"), [], "the statements before the failure were undone");
      await insert(metaRows(5, "after"));
      assert.equal((await stored("after")).length, 5);
    });

    test("runSteps answers each statement in order", async () => {
      const rows = metaRows(2, "steps");
      const [inserted, selected] = await runSteps(database.db, [
        ...insertQueries(database.db, "keel_meta", COLUMNS, rows),
        database.db.selectFrom("keel_meta").select("key").where("key", "like", "steps-%").compile(),
      ]);
      assert.equal(Number(inserted!.numAffectedRows), 2);
      assert.deepEqual(selected!.rows, [{ key: "steps-00000" }, { key: "steps-00001" }]);
    });
  });
}
