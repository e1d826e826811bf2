import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { insertTraces } from "../src/traces/store.ts";
import { toRow } from "../src/traces/trace-rows.ts";
import { traceRecord } from "./fixtures/trace-records.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/**
 * `traces.retention.max_age_days` on a running Keel: old traces are deleted in the background
 * soon after start (and every interval), recent ones stay, and /metrics counts what went.
 */
describe("trace retention in a running Keel", () => {
  let keel: RunningKeel;
  const DAY = 86_400_000;

  before(async () => {
    keel = await startKeel({ traces: { retention: { max_age_days: 7, interval_minutes: 1 } } });
  });
  after(() => keel.close());

  test("deletes traces older than max_age_days and counts them in /metrics", async () => {
    const db = keel.keel.database.db;
    // Written before the first run (which waits a second after start): two old, one recent.
    const now = Date.now();
    await insertTraces(
      db,
      [now - 30 * DAY, now - 8 * DAY, now - DAY].map((at) => toRow(traceRecord(at), "metadata")),
    );
    const remaining = async () =>
      (await db.selectFrom("traces").select("started_at").execute()).map((r) =>
        Number(r.started_at),
      );
    let left = await remaining();
    for (let i = 0; i < 100 && left.length > 1; i++) {
      await sleep(50);
      left = await remaining();
    }
    assert.deepEqual(left, [now - DAY], "only the recent trace is left");

    const metrics = await (await fetch(`${keel.url}/metrics`)).text();
    assert.match(metrics, /^keel_trace_pruned_total 2$/m);
    assert.match(metrics, /^keel_trace_prune_failures_total 0$/m);
  });
});
