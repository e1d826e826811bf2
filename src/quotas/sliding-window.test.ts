import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { exceedsLimit, windowRetryAfterMs, windowUsage } from "./sliding-window.ts";

const W = 60_000;

describe("sliding-window counter", () => {
  test("weights the previous minute by how much of it the window still covers", () => {
    assert.equal(windowUsage(200, 0, 0, W), 200);
    assert.equal(windowUsage(200, 10, 30_000, W), 110);
    assert.equal(windowUsage(200, 10, 45_000, W), 60);
  });

  test("a limit refuses a cost that goes past it and anything once it is reached", () => {
    assert.equal(exceedsLimit(199, 1, 200), false);
    assert.equal(exceedsLimit(199.5, 1, 200), true);
    assert.equal(exceedsLimit(200, 0, 200), true);
    assert.equal(exceedsLimit(0, 201, 200), true);
  });

  test("retry-after is the moment the cost fits again, within or after the current minute", () => {
    // Previous minute full, current empty, 30 s in: 100 used, fits again once weight drops.
    const inWindow = windowRetryAfterMs(200, 100, 1, 200, 30_000, W);
    const at = 30_000 + inWindow;
    assert.ok(windowUsage(200, 100, at, W) + 1 <= 200);
    assert.ok(windowUsage(200, 100, at - 1_000, W) + 1 > 200);
    // Current minute full at its start: waits into the next minute.
    const next = windowRetryAfterMs(0, 10, 1, 10, 0, W);
    assert.equal(next, 66_000);
    assert.ok(windowUsage(10, 0, next - W, W) + 1 <= 10);
  });

  test("a cost larger than the limit waits one full window", () => {
    assert.equal(windowRetryAfterMs(0, 0, 500, 100, 10_000, W), W);
  });
});
