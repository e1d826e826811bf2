import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { Kysely, sql } from "kysely";
import { openDatabase } from "./database.ts";
import { SqliteWorkerDialect } from "./sqlite-worker-dialect.ts";

interface Db {
  items: { id: number; name: string };
}

async function open(): Promise<Kysely<Db>> {
  const db = new Kysely<Db>({
    dialect: new SqliteWorkerDialect({ location: ":memory:", busyTimeoutMs: 1_000, pragmas: [] }),
  });
  await sql`create table items (id integer primary key, name text not null)`.execute(db);
  return db;
}

describe("SQLite worker dialect", () => {
  test("a query run again sees the rows written in between", async () => {
    const db = await open();
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
      const result = await db
        .insertInto("items")
        .values({ id: i, name: `item ${i}` })
        .executeTakeFirstOrThrow();
      assert.equal(result.insertId, BigInt(i));
      assert.equal(result.numInsertedOrUpdatedRows, 1n);
      assert.equal(await count(), i);
    }
    await db.destroy();
  });

  test("streams in chunks, and a stream left unfinished does not disturb the same query", async () => {
    const db = await open();
    await db
      .insertInto("items")
      .values(Array.from({ length: 250 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` })))
      .execute();
    const query = db.selectFrom("items").select("id").orderBy("id");
    const all: number[] = [];
    for await (const row of query.stream(40)) all.push(row.id);
    assert.equal(all.length, 250);
    for await (const row of query.stream()) {
      assert.equal(row.id, 1);
      break;
    }
    assert.equal((await query.execute()).length, 250);
    await db.destroy();
  });

  test("a query run before a schema change still answers after it", async () => {
    const db = await open();
    await db.insertInto("items").values({ id: 1, name: "a" }).execute();
    const select = () => sql<Record<string, unknown>>`select * from items`.execute(db);
    assert.deepEqual(Object.keys((await select()).rows[0]!), ["id", "name"]);
    await sql`alter table items add column size integer`.execute(db);
    assert.deepEqual(Object.keys((await select()).rows[0]!), ["id", "name", "size"]);
    await db.destroy();
  });

  test("SQLite's errors keep their codes, and the connection stays usable", async () => {
    const db = await open();
    await db.insertInto("items").values({ id: 1, name: "a" }).execute();
    await assert.rejects(db.insertInto("items").values({ id: 1, name: "b" }).execute(), (err) => {
      const e = err as { message: string; code?: string; errcode?: number };
      return /UNIQUE constraint failed: items\.id/.test(e.message) && e.code === "ERR_SQLITE_ERROR";
    });
    await assert.rejects(sql`select * from nope`.execute(db), /no such table: nope/);
    assert.equal((await db.selectFrom("items").selectAll().execute()).length, 1);
    await db.destroy();
  });

  test("transactions take turns and a failed one rolls back", async () => {
    const db = await open();
    const insertBoth = (base: number) =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ id: base, name: "first" }).execute();
        await new Promise((resolve) => setTimeout(resolve, 5));
        await trx
          .insertInto("items")
          .values({ id: base + 1, name: "second" })
          .execute();
      });
    await Promise.all([insertBoth(10), insertBoth(20), insertBoth(30)]);
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ id: 40, name: "x" }).execute();
        throw new Error("roll back");
      }),
    );
    const ids = (await db.selectFrom("items").select("id").orderBy("id").execute()).map(
      (r) => r.id,
    );
    assert.deepEqual(ids, [10, 11, 20, 21, 30, 31]);
    await db.destroy();
  });

  test("a database that cannot be opened is a clear start-up error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-sqlite-"));
    try {
      await assert.rejects(
        openDatabase({ dataDir: dir, sqliteFile: "missing-dir/keel.db" }),
        /cannot open the SQLite database .*keel\.db: .*unable to open database file/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an idle database does not keep the process alive, and closing it completes", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-sqlite-"));
    const run = (close: boolean) => {
      const script = `
        const { openDatabase } = await import(${JSON.stringify(new URL("./database.ts", import.meta.url).href)});
        const database = await openDatabase({ dataDir: ${JSON.stringify(dir)} });
        await database.ping();
        ${close ? "await database.close();" : ""}
        console.log("done");`;
      // A top-level await left pending when the event loop empties exits with code 13.
      return execFileSync(process.execPath, ["--input-type=module", "-e", script], {
        encoding: "utf8",
        timeout: 20_000,
      }).trim();
    };
    try {
      assert.equal(run(false), "done");
      assert.equal(run(true), "done");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("a worker thread that dies", () => {
    function openFile() {
      const dir = mkdtempSync(join(tmpdir(), "keel-sqlite-"));
      const workers: Worker[] = [];
      const restarts: Error[] = [];
      const db = new Kysely<Db>({
        dialect: new SqliteWorkerDialect({
          location: join(dir, "keel.db"),
          busyTimeoutMs: 1_000,
          pragmas: ["journal_mode = WAL"],
          onWorker: (worker) => workers.push(worker),
          onRestart: (cause) => restarts.push(cause),
        }),
      });
      const dispose = async () => {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      };
      return { db, workers, restarts, dispose };
    }

    test("is replaced: the next query runs on a new one and finds what was written", async () => {
      const { db, workers, restarts, dispose } = openFile();
      try {
        await sql`create table items (id integer primary key, name text not null)`.execute(db);
        await db.insertInto("items").values({ id: 1, name: "kept" }).execute();
        await workers[0]!.terminate();
        const rows = await db.selectFrom("items").selectAll().execute();
        assert.deepEqual(rows, [{ id: 1, name: "kept" }]);
        assert.equal(workers.length, 2, "a second worker was started");
        assert.equal(restarts.length, 1);
        assert.match(restarts[0]!.message, /the SQLite worker exited/);
      } finally {
        await dispose();
      }
    });

    test("fails a transaction it was part of whole, never finishing it on the new worker", async () => {
      const { db, workers, dispose } = openFile();
      try {
        await sql`create table items (id integer primary key, name text not null)`.execute(db);
        await assert.rejects(
          db.transaction().execute(async (trx) => {
            await trx.insertInto("items").values({ id: 1, name: "before" }).execute();
            await workers[0]!.terminate();
            await trx.insertInto("items").values({ id: 2, name: "after" }).execute();
          }),
          /the SQLite worker exited/,
        );
        assert.deepEqual(await db.selectFrom("items").selectAll().execute(), []);
        await db.insertInto("items").values({ id: 3, name: "next" }).execute();
        assert.equal((await db.selectFrom("items").selectAll().execute()).length, 1);
      } finally {
        await dispose();
      }
    });

    test("is not replaced once the database is closed", async () => {
      const { db, dispose } = openFile();
      await sql`select 1`.execute(db);
      await dispose();
      await assert.rejects(sql`select 1`.execute(db));
    });
  });
});
