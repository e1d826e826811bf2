import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeelError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import type { StoreFailure } from "./failure-policy.ts";
import { createQuotaGuard } from "./guard.ts";
import { createMemoryQuotaStore } from "./memory-store.ts";
import type { QuotaStore } from "./quota-store.ts";

const start = Date.UTC(2026, 10, 5, 18, 0, 0);
const estimate = { tokens: 100, costMicros: 1_000 };

function fakeClock(at = start) {
  let now = at;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** A store whose backend is down: every call rejects, and it counts the calls. */
function brokenStore(): QuotaStore & { calls: number } {
  const store = {
    backend: "redis" as const,
    calls: 0,
    reserve: () => {
      store.calls += 1;
      return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
    },
    settle: () => {
      store.calls += 1;
      return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
    },
    close: () => Promise.resolve(),
  };
  return store;
}

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("info", {
    write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
}

async function rejection(promise: Promise<unknown>): Promise<KeelError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KeelError, `expected a KeelError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the call to be refused");
}

describe("quota guard", () => {
  test("a refused call is a 429 rate_limited naming the scope, the limit and the wait", async () => {
    const clock = fakeClock();
    const guard = createQuotaGuard({ store: createMemoryQuotaStore(), clock: clock.now });
    const request = {
      keyId: "key_1",
      projectId: "prj_1",
      projectLimits: { tokens_per_minute: 150 },
      estimate,
    };
    await guard.admit(request);
    const err = await rejection(guard.admit(request));
    assert.equal(err.status, 429);
    assert.equal(err.code, "rate_limited");
    assert.match(err.message, /^project prj_1 exceeded tokens_per_minute \(150\); retry in \d+ s$/);
    assert.ok(
      err.retryAfterMs !== undefined && err.retryAfterMs > 0 && err.retryAfterMs <= 120_000,
    );
    assert.deepEqual(err.details, {
      limit: "tokens_per_minute",
      scope: "project",
      scope_id: "prj_1",
      limit_value: 150,
      retry_after_ms: err.retryAfterMs,
    });
  });

  test("a request bigger than the tokens-per-minute limit is told to lower max_tokens", async () => {
    const guard = createQuotaGuard({ store: createMemoryQuotaStore(), clock: fakeClock().now });
    const err = await rejection(
      guard.admit({
        keyId: "key_1",
        keyLimits: { tokens_per_minute: 1000 },
        projectId: "prj_1",
        estimate: { tokens: 4096, costMicros: 0 },
      }),
    );
    assert.match(err.message, /key key_1: this request may use 4096 tokens .* lower max_tokens/);
  });

  test("an exhausted budget says when it resets", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 5, 18, 0, 0));
    const guard = createQuotaGuard({ store: createMemoryQuotaStore(), clock: clock.now });
    const request = {
      keyId: "key_1",
      keyLimits: { monthly_budget_usd: 0.001 },
      projectId: "prj_1",
      estimate,
    };
    await guard.admit(request);
    const err = await rejection(guard.admit(request));
    assert.equal(
      err.message,
      "key key_1 exceeded monthly_budget_usd (0.001) USD; the budget resets at 2026-12-01T00:00:00.000Z",
    );
    assert.equal(err.retryAfterMs, Date.UTC(2026, 11, 1) - clock.now());
  });

  test("calls without limits are admitted without touching the store", async () => {
    const store = brokenStore();
    const guard = createQuotaGuard({ store, clock: fakeClock().now });
    const reservation = await guard.admit({
      keyId: "key_1",
      keyLimits: {},
      projectId: "prj_1",
      estimate,
    });
    await guard.settle(reservation, { tokens: 5, costMicros: 5 });
    assert.equal(store.calls, 0);
  });

  test("a negative or fractional estimate is a 400 naming the field", async () => {
    const guard = createQuotaGuard({ store: createMemoryQuotaStore() });
    const err = await rejection(
      guard.admit({
        keyId: "key_1",
        projectId: "prj_1",
        projectLimits: { requests_per_minute: 1 },
        estimate: { tokens: -1, costMicros: 0.5 },
      }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.param, "estimate.tokens");
  });

  test("settling the same reservation twice refunds once", async () => {
    const guard = createQuotaGuard({ store: createMemoryQuotaStore(), clock: fakeClock().now });
    const request = {
      keyId: "key_1",
      keyLimits: { tokens_per_minute: 1000 },
      projectId: "prj_1",
      estimate: { tokens: 600, costMicros: 0 },
    };
    const first = await guard.admit(request);
    await guard.settle(first, { tokens: 0, costMicros: 0 });
    await guard.settle(first, { tokens: 0, costMicros: 0 });
    await guard.admit(request); // 600 of 1000
    await rejection(guard.admit(request)); // a second refund would have made room
  });
});

describe("quota guard when the store fails", () => {
  test("by default rate limits fail open and budgets fail closed with a 503", async () => {
    const failures: StoreFailure[] = [];
    const guard = createQuotaGuard({
      store: brokenStore(),
      clock: fakeClock().now,
      onStoreFailure: (f) => failures.push(f),
    });
    const rates = { requests_per_minute: 10, tokens_per_minute: 1000 };
    const reservation = await guard.admit({
      keyId: "key_1",
      keyLimits: rates,
      projectId: "prj_1",
      estimate,
    });
    assert.deepEqual(reservation.tokenKeys, []);
    const err = await rejection(
      guard.admit({
        keyId: "key_1",
        keyLimits: rates,
        projectId: "prj_1",
        projectLimits: { daily_budget_usd: 5 },
        estimate,
      }),
    );
    assert.equal(err.status, 503);
    assert.equal(err.code, "quota_unavailable");
    assert.deepEqual(failures, [
      { operation: "reserve", outcome: "open" },
      { operation: "reserve", outcome: "closed" },
    ]);
  });

  test("the policy is configurable per kind of limit", async () => {
    const guard = createQuotaGuard({
      store: brokenStore(),
      failurePolicy: { rate_limits: "closed", budgets: "open" },
    });
    const base = { keyId: "key_1", projectId: "prj_1", estimate };
    await guard.admit({ ...base, keyLimits: { daily_budget_usd: 1 } });
    const err = await rejection(guard.admit({ ...base, keyLimits: { requests_per_minute: 1 } }));
    assert.equal(err.code, "quota_unavailable");
  });

  test("an outage logs one line per ten seconds, with the number of failures", async () => {
    const clock = fakeClock();
    const { logger, lines } = captureLogs();
    const store = brokenStore();
    const guard = createQuotaGuard({ store, clock: clock.now, logger });
    const request = {
      keyId: "key_1",
      keyLimits: { requests_per_minute: 5 },
      projectId: "prj_1",
      estimate,
    };
    for (let i = 0; i < 50; i++) await guard.admit(request);
    clock.advance(10_000);
    await guard.admit(request);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.msg, "quota store failed: failing open");
    assert.equal(lines[1]!.failures, 50);
    assert.equal(store.calls, 51);
  });

  test("a failed settle is reported, never thrown", async () => {
    const failures: StoreFailure[] = [];
    const memory = createMemoryQuotaStore();
    const store = { ...memory, settle: () => Promise.reject(new Error("connection lost")) };
    const guard = createQuotaGuard({ store, onStoreFailure: (f) => failures.push(f) });
    const reservation = await guard.admit({
      keyId: "key_1",
      keyLimits: { tokens_per_minute: 1000 },
      projectId: "prj_1",
      estimate,
    });
    await guard.settle(reservation, { tokens: 1, costMicros: 1 });
    assert.deepEqual(failures, [{ operation: "settle", outcome: "open" }]);
  });
});
