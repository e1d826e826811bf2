import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import {
  openPostgresTestDatabase,
  postgresUrl,
  type TestDatabase,
} from "../../../test/helpers/engines.ts";

describe(
  "PostgreSQL introspection is scoped to Keel's schema",
  { skip: postgresUrl ? false : "KEEL_TEST_DATABASE_URL is not set: PostgreSQL tests skipped" },
  () => {
    const opened: TestDatabase[] = [];
    after(async () => {
      for (const database of opened) await database.dispose();
    });

    test("lists only the tables of the current schema", async () => {
      const database = await openPostgresTestDatabase(postgresUrl!);
      opened.push(database);
      const tables = await database.db.introspection.getTables({ withInternalKyselyTables: true });
      const schemas = new Set(tables.map((t) => t.schema));
      assert.equal(schemas.size, 1, `tables from several schemas: ${[...schemas].join(", ")}`);
      const names = tables.map((t) => t.name);
      assert.ok(names.includes("keel_meta") && names.includes("kysely_migration"));
      assert.ok(
        !(await database.db.introspection.getTables()).some((t) => t.name.startsWith("kysely_")),
      );
      const meta = tables.find((t) => t.name === "keel_meta")!;
      assert.deepEqual(
        meta.columns.map((c) => [c.name, c.isNullable]),
        [
          ["key", false],
          ["value", false],
          ["updated_at", false],
        ],
      );
    });

    test("migrates while other schemas are created and dropped", async () => {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      let churning = true;
      const churn = (async () => {
        // Bounded: at most 200 create/drop pairs, stopped as soon as the opens finish.
        for (let i = 0; i < 200 && churning; i++) {
          const name = `keel_churn_${process.pid}_${i}`;
          await client.query(`create schema ${name}`);
          await client.query(`create table ${name}.t (id int)`);
          await client.query(`drop schema ${name} cascade`);
        }
      })();
      try {
        for (let i = 0; i < 4; i++) opened.push(await openPostgresTestDatabase(postgresUrl!));
      } finally {
        churning = false;
        await churn;
        await client.end();
      }
      for (const database of opened) await database.ping();
    });
  },
);
