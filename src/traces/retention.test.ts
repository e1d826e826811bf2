import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import { parseConfig, type Config } from "../core/config.ts";
import type { Database } from "../core/db/tables.ts";
import { KeelError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import { engines, openSqliteTestDatabase, type TestDatabase } from "../../test/helpers/engines.ts";
import { traceRecord } from "../../test/fixtures/trace-records.ts";
import { createTracePruner, type PruneResult, type TracePruner } from "./retention.ts";
import { insertTraces } from "./store.ts";
import { toRow } from "./trace-rows.ts";

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);
const DAY = 86_400_000;

type Retention = NonNullable<Config["traces"]["retention"]>;

interface LogLine {
  level: number;
  msg: string;
  deleted?: number;
}

interface Harness {
  pruner: TracePruner;
  logs: LogLine[];
  pruned: PruneResult[];
}

function pruner(db: Kysely<Database>, retention: Partial<Retention> | undefined): Harness {
  const logs: LogLine[] = [];
  const pruned: PruneResult[] = [];
  const logger = createLogger("info", {
    write: (line: string) => void logs.push(JSON.parse(line) as LogLine),
  });
  const config: Config["traces"] = {
    bodies: "metadata",
    queue_size: 1_000,
    batch_size: 100,
    flush_interval_ms: 60_000,
    encrypt: false,
    retention: { max_age_days: null, interval_minutes: 10, batch_size: 1_000, ...retention },
  };
  const instance = createTracePruner({
    db,
    config,
    logger,
    onPruned: (result) => pruned.push(result),
    now: () => NOW,
  });
  return { pruner: instance, logs, pruned };
}

/** Stores one trace per age (in ms before NOW). */
async function insertAged(db: Kysely<Database>, ages: readonly number[]): Promise<void> {
  await insertTraces(
    db,
    ages.map((age) => toRow(traceRecord(NOW - age), "metadata")),
  );
}

async function remainingAges(db: Kysely<Database>): Promise<number[]> {
  const rows = await db.selectFrom("traces").select("started_at").orderBy("started_at").execute();
  return rows.map((row) => NOW - Number(row.started_at)).sort((a, b) => a - b);
}

/** Polls until `check` holds, for at most five seconds. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting until ${what}`);
}

for (const engine of engines()) {
  describe(`trace retention on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    let open: TracePruner[] = [];
    beforeEach(async () => {
      database = await engine.open();
    });
    afterEach(async () => {
      for (const p of open) await p.close();
      open = [];
      await database.dispose();
    });

    function start(retention: Partial<Retention> | undefined): Harness {
      const h = pruner(database.db, retention);
      open.push(h.pruner);
      return h;
    }

    test("deletes traces older than max_age_days and keeps the newer ones", async () => {
      const old = [7 * DAY + 1, 8 * DAY, 30 * DAY, 400 * DAY];
      const recent = [0, 60_000, 6 * DAY, 7 * DAY];
      await insertAged(database.db, [...old, ...recent]);
      const { pruner: p, logs, pruned } = start({ max_age_days: 7 });

      const result = await p.runOnce();

      assert.equal(result.deleted, 4);
      assert.deepEqual(
        await remainingAges(database.db),
        recent,
        "a trace exactly max_age_days old is kept, one a millisecond older is not",
      );
      assert.deepEqual(pruned, [result]);
      const line = logs.find((l) => l.msg === "old traces deleted");
      assert.equal(line?.deleted, 4);
    });

    test("deletes batch_size rows per statement until a batch comes back short", async () => {
      await insertAged(
        database.db,
        Array.from({ length: 10 }, (_, i) => 10 * DAY + i * 1_000),
      );
      await insertAged(database.db, [DAY]);
      const { pruner: p } = start({ max_age_days: 2, batch_size: 3 });

      const result = await p.runOnce();

      assert.equal(result.deleted, 10);
      assert.equal(result.batches, 4);
      assert.deepEqual(await remainingAges(database.db), [DAY]);
      const again = await p.runOnce();
      assert.deepEqual([again.deleted, again.batches], [0, 1]);
    });

    // One process owns a SQLite database: only PostgreSQL has other replicas to wait for.
    if (engine.name === "postgres") {
      test("replicas take turns: a run while another is under way skips", async () => {
        await insertAged(
          database.db,
          Array.from({ length: 40 }, (_, i) => (10 + i) * DAY),
        );
        const first = start({ max_age_days: 7, batch_size: 1 });
        const second = start({ max_age_days: 7, batch_size: 1 });
        const running = first.pruner.runOnce();
        // Under way, and so holding the lock, once its first batch is gone.
        while ((await remainingAges(database.db)).length === 40) await sleep(1);
        assert.deepEqual(await second.pruner.runOnce(), {
          deleted: 0,
          batches: 0,
          ms: 0,
          skipped: true,
        });
        const done = await running;
        assert.equal(done.deleted, 40);
        assert.equal(done.skipped, undefined);
        const after = await second.pruner.runOnce();
        assert.equal(after.skipped, undefined, "the lock went with the first run");
        assert.equal(after.batches, 1);
      });
    }

    test("without max_age_days every trace is kept and no delete is issued", async () => {
      await insertAged(database.db, [1_000 * DAY, 2 * DAY]);
      for (const retention of [undefined, {}, { max_age_days: null }]) {
        const { pruner: p, logs } = start(retention);
        p.start();
        const result = await p.runOnce();
        assert.deepEqual([result.deleted, result.batches], [0, 0]);
        assert.equal(logs.length, 0);
      }
      assert.equal((await remainingAges(database.db)).length, 2);
    });

    test("close stops a long prune at a batch boundary, without an error", async () => {
      const total = 200;
      await insertAged(
        database.db,
        Array.from({ length: total }, (_, i) => 10 * DAY + i),
      );
      const { pruner: p } = start({ max_age_days: 1, batch_size: 1 });

      const run = p.runOnce();
      // Closed once the run is under way (on PostgreSQL it first takes the retention lock).
      while ((await remainingAges(database.db)).length === total) await sleep(1);
      await p.close();
      const result = await run;

      assert.ok(result.deleted >= 1, "the batches before close were kept");
      assert.ok(result.deleted < total, "no batch started after close");
      assert.equal(result.batches, result.deleted);
      assert.equal((await remainingAges(database.db)).length, total - result.deleted);
      const afterClose = await p.runOnce();
      assert.equal(afterClose.deleted, 0, "a closed pruner deletes nothing");
    });

    test("start prunes soon after start-up, off the caller's turn", async () => {
      await insertAged(database.db, [5 * DAY, 0]);
      const { pruner: p, pruned } = start({ max_age_days: 1 });

      p.start();
      assert.equal(pruned.length, 0, "start does not wait for a run");
      await eventually(() => pruned.length === 1, "the first scheduled run finished");

      assert.equal(pruned[0]?.deleted, 1);
      assert.deepEqual(await remainingAges(database.db), [0]);
    });
  });
}

describe("trace retention failures", () => {
  test("a failed scheduled run is logged as a warning, not thrown", async () => {
    const gone = await openSqliteTestDatabase();
    await gone.dispose();
    const { pruner: p, logs } = pruner(gone.db, { max_age_days: 1 });

    await assert.rejects(p.runOnce(), "runOnce reports the failure to its caller");
    p.start();
    await eventually(() => logs.some((l) => l.level === 40), "the failure was logged");
    await p.close();

    const warnings = logs.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.msg, /trace retention failed/);
  });
});

describe("trace retention config", () => {
  const ctx = { env: {}, source: "keel.config.yaml", overrides: {} };

  function refusal(retention: unknown): string {
    try {
      parseConfig({ traces: { retention } }, ctx);
    } catch (err) {
      assert.ok(err instanceof KeelError, `expected KeelError, got ${String(err)}`);
      assert.equal(err.code, "config_invalid");
      return err.message;
    }
    assert.fail(`expected ${JSON.stringify(retention)} to be refused`);
  }

  test("keeps traces forever unless max_age_days is set", () => {
    const defaults = { max_age_days: null, interval_minutes: 10, batch_size: 1_000 };
    assert.deepEqual(parseConfig({}, ctx).traces.retention, defaults);
    assert.deepEqual(parseConfig({ traces: { retention: {} } }, ctx).traces.retention, defaults);
    const set = parseConfig({ traces: { retention: { max_age_days: 30 } } }, ctx).traces.retention;
    assert.equal(set.max_age_days, 30);
  });

  test("refuses a zero or fractional age, interval or batch size, naming the field", () => {
    assert.match(refusal({ max_age_days: 0 }), /traces\.retention\.max_age_days/);
    assert.match(refusal({ max_age_days: 1.5 }), /traces\.retention\.max_age_days/);
    assert.match(refusal({ interval_minutes: 0 }), /traces\.retention\.interval_minutes/);
    assert.match(refusal({ batch_size: 0 }), /traces\.retention\.batch_size/);
    assert.match(refusal({ batch_size: 50_001 }), /traces\.retention\.batch_size/);
  });

  test("refuses unknown keys in the retention block", () => {
    assert.match(refusal({ max_age: 7 }), /traces\.retention.*max_age/);
  });
});
