import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeelError } from "../core/errors.ts";
import { SlotPool } from "./local-pool.ts";

const options = { queueLimit: 2, retryAfterMs: 500, label: "local model test.gguf" };
const never = new AbortController().signal;

describe("SlotPool", () => {
  test("hands out free slots, then queues in arrival order", async () => {
    const pool = new SlotPool(["a", "b"], options);
    const first = await pool.acquire(never);
    const second = await pool.acquire(never);
    assert.deepEqual([first, second].sort(), ["a", "b"]);
    const order: string[] = [];
    const third = pool.acquire(never).then((s) => order.push(`third:${s}`));
    const fourth = pool.acquire(never).then((s) => order.push(`fourth:${s}`));
    assert.equal(pool.waiting, 2);
    pool.release(first);
    pool.release(second);
    await Promise.all([third, fourth]);
    assert.deepEqual(order, [`third:${first}`, `fourth:${second}`]);
  });

  test("refuses at once with queue_full (429, retry hint) when the queue is full", async () => {
    const pool = new SlotPool(["a"], options);
    await pool.acquire(never);
    const queued = [pool.acquire(never), pool.acquire(never)];
    const err = await pool.acquire(never).catch((e: unknown) => e);
    assert.ok(err instanceof KeelError);
    assert.equal(err.code, "queue_full");
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 500);
    assert.match(err.message, /1 requests running and 2 queued/);
    pool.release("a");
    assert.equal(await queued[0], "a");
    pool.release("a");
    assert.equal(await queued[1], "a");
  });

  test("a waiter whose request is cancelled leaves the queue", async () => {
    const pool = new SlotPool(["a"], options);
    await pool.acquire(never);
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort();
    await assert.rejects(
      waiting,
      (err: unknown) => err instanceof KeelError && err.code === "client_closed",
    );
    assert.equal(pool.waiting, 0);
    pool.release("a");
    assert.equal(pool.busy, 0);
  });

  test("use() gives the slot back when the task fails", async () => {
    const pool = new SlotPool(["a"], options);
    await assert.rejects(
      pool.use(never, () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(pool.busy, 0);
  });

  test("idle() waits for slots in use to come back", async () => {
    const pool = new SlotPool(["a", "b"], options);
    const slot = await pool.acquire(never);
    let idle = false;
    const waiting = pool.idle(10_000).then(() => (idle = true));
    await Promise.resolve();
    assert.equal(idle, false);
    pool.release(slot);
    await waiting;
    assert.equal(idle, true);
  });

  test("close() refuses waiters and later callers", async () => {
    const pool = new SlotPool(["a"], options);
    await pool.acquire(never);
    const waiting = pool.acquire(never);
    pool.close();
    await assert.rejects(
      waiting,
      (err: unknown) => err instanceof KeelError && err.code === "shutting_down",
    );
    await assert.rejects(pool.acquire(never), /closed/);
  });
});
