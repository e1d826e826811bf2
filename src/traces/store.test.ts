import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { engines, type TestDatabase } from "../../test/helpers/engines.ts";
import { traceRecord } from "../../test/fixtures/trace-records.ts";
import { insertTraces } from "./store.ts";
import { toRow } from "./trace-rows.ts";

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

function rows(count: number, from: number) {
  return Array.from({ length: count }, (_, i) => toRow(traceRecord(from + i), "metadata"));
}

for (const engine of engines()) {
  describe(`trace store on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    before(async () => {
      database = await engine.open();
    });
    after(async () => database.dispose());

    async function count(): Promise<number> {
      const row = await database.db
        .selectFrom("traces")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }

    test("a batch larger than one INSERT statement allows is written whole", async () => {
      await insertTraces(database.db, rows(1_200, T0));
      assert.equal(await count(), 1_200);
    });

    test("one bad row rolls back its whole batch, across statements", async () => {
      const batch = rows(1_100, T0 + 10_000);
      batch[1_050] = { ...batch[1_050]!, id: batch[3]!.id };
      await assert.rejects(insertTraces(database.db, batch));
      assert.equal(await count(), 1_200, "nothing of the failed batch was kept");
    });
  });
}
