import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CircuitBreaker, type BreakerState } from "./circuit-breaker.ts";

const config = {
  consecutive_failures: 3,
  error_rate: 0.5,
  window_ms: 10_000,
  min_requests: 6,
  open_ms: 5_000,
  half_open_probes: 1,
};

function breaker(over: Partial<typeof config> = {}) {
  let now = 1_000_000;
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker(
    { ...config, ...over },
    {
      now: () => now,
      onStateChange: (s) => changes.push(s),
    },
  );
  return {
    b,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
    call: (verdict: "success" | "failure" | "neutral") => {
      const permit = b.acquire();
      assert.ok(permit, "breaker refused a call");
      b.release(permit, verdict);
    },
  };
}

describe("circuit breaker", () => {
  test("opens after N consecutive failures and refuses calls", () => {
    const { b, call, changes } = breaker();
    call("failure");
    call("failure");
    assert.equal(b.state, "closed");
    call("failure");
    assert.equal(b.state, "open");
    assert.equal(b.canPass(), false);
    assert.equal(b.acquire(), undefined);
    assert.deepEqual(changes, ["open"]);
  });

  test("a success resets the consecutive count", () => {
    const { b, call } = breaker();
    call("failure");
    call("failure");
    call("success");
    call("failure");
    call("failure");
    assert.equal(b.state, "closed");
  });

  test("opens when the error rate over the window exceeds the limit with enough requests", () => {
    const { b, call } = breaker({ consecutive_failures: 100 });
    for (const v of ["failure", "success", "failure", "success", "failure"] as const) call(v);
    assert.equal(b.state, "closed", "5 requests are below min_requests");
    call("failure"); // 4 of 6 failed: 0.67 > 0.5
    assert.equal(b.state, "open");
  });

  test("forgets failures older than the window", () => {
    const { b, call, advance } = breaker({ consecutive_failures: 100 });
    for (let i = 0; i < 5; i++) call("failure");
    advance(11_000);
    for (let i = 0; i < 5; i++) call("success");
    call("failure"); // only 1 of 6 in the window failed
    assert.equal(b.state, "closed");
  });

  test("neutral outcomes (client aborts, invalid requests) count for nothing", () => {
    const { b, call } = breaker();
    for (let i = 0; i < 10; i++) call("neutral");
    call("failure");
    call("failure");
    assert.equal(b.state, "closed");
  });

  test("half-opens after open_ms, allows only the probes, and closes when a probe succeeds", () => {
    const { b, call, advance, changes } = breaker({ half_open_probes: 2 });
    for (let i = 0; i < 3; i++) call("failure");
    advance(4_999);
    assert.equal(b.state, "open");
    advance(1);
    assert.equal(b.state, "half-open");
    const first = b.acquire();
    const second = b.acquire();
    assert.equal(first, "probe");
    assert.equal(second, "probe");
    assert.equal(b.acquire(), undefined, "only half_open_probes calls go through");
    b.release(first, "success");
    assert.equal(b.state, "closed");
    assert.deepEqual(changes, ["open", "half-open", "closed"]);
  });

  test("a failed probe re-opens for another open_ms", () => {
    const { b, call, advance } = breaker();
    for (let i = 0; i < 3; i++) call("failure");
    advance(5_000);
    call("failure");
    assert.equal(b.state, "open");
    advance(4_000);
    assert.equal(b.state, "open");
    advance(1_000);
    assert.equal(b.state, "half-open");
  });

  test("an aborted probe frees its slot without deciding", () => {
    const { b, call, advance } = breaker();
    for (let i = 0; i < 3; i++) call("failure");
    advance(5_000);
    call("neutral");
    assert.equal(b.state, "half-open");
    assert.equal(b.acquire(), "probe");
  });

  test("a late answer to a call let through before the breaker opened decides nothing", () => {
    const { b, call, advance } = breaker();
    const early = b.acquire()!;
    for (let i = 0; i < 3; i++) call("failure");
    advance(5_000);
    assert.equal(b.state, "half-open");
    b.release(early, "success");
    assert.equal(b.state, "half-open");
  });
});
