import { after, afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { KeelError } from "../src/core/errors.ts";
import {
  createMemoryQuotaStore,
  createQuotaGuard,
  createRedisQuotaStore,
  type AdmitRequest,
  type QuotaGuard,
  type QuotaStore,
} from "../src/quotas/index.ts";

/**
 * One contract, two stores: the in-process store and the Redis store must refuse and admit
 * exactly the same calls. Time is a fake clock for both (the Redis store takes `now` from the
 * caller), so windows and budget periods move without waiting. The Redis half runs when
 * KEEL_TEST_REDIS_URL is set, each test under its own key prefix, deleted afterwards.
 */

const redisUrl = process.env.KEEL_TEST_REDIS_URL;
const START = Date.UTC(2026, 10, 5, 18, 0, 0); // on a minute boundary, 6 h before UTC midnight

interface Harness {
  store: QuotaStore;
  /** Every key the store wrote, with its remaining TTL in ms (Redis only). */
  keys?: () => Promise<{ key: string; ttl: number }[]>;
  cleanup(): Promise<void>;
}

function quotaContract(makeHarness: () => Promise<Harness>, backend: "memory" | "redis"): void {
  let harness: Harness;
  let now: number;
  let guard: QuotaGuard;

  beforeEach(async () => {
    harness = await makeHarness();
    now = START;
    guard = createQuotaGuard({ store: harness.store, clock: () => now });
  });
  afterEach(() => harness.cleanup());

  const call = (overrides: Partial<AdmitRequest> = {}): AdmitRequest => ({
    keyId: "key_1",
    projectId: "prj_1",
    estimate: { tokens: 100, costMicros: 1_000 },
    ...overrides,
  });

  async function admitMany(count: number, request: AdmitRequest) {
    const results = await Promise.allSettled(
      Array.from({ length: count }, () => guard.admit(request)),
    );
    const refused = results.filter((r) => r.status === "rejected");
    for (const r of refused) {
      assert.ok(
        r.reason instanceof KeelError && r.reason.code === "rate_limited",
        String(r.reason),
      );
    }
    return { allowed: count - refused.length, errors: refused.map((r) => r.reason as KeelError) };
  }

  test("500 concurrent calls against 200 requests per minute: exactly 200 pass", async () => {
    const { allowed, errors } = await admitMany(
      500,
      call({ projectLimits: { requests_per_minute: 200 } }),
    );
    assert.equal(allowed, 200);
    assert.equal(errors[0]!.details.limit, "requests_per_minute");
    assert.equal(errors[0]!.details.scope, "project");
  });

  test("concurrent calls never reserve more tokens per minute than the limit", async () => {
    const request = call({
      keyLimits: { tokens_per_minute: 10_000 },
      estimate: { tokens: 300, costMicros: 0 },
    });
    const { allowed, errors } = await admitMany(100, request);
    assert.equal(allowed, 33); // 33 × 300 = 9,900; a 34th would make 10,200
    assert.equal(errors[0]!.details.limit, "tokens_per_minute");
    assert.equal(errors[0]!.details.scope, "key");
  });

  test("concurrent reservations never overshoot a budget", async () => {
    const request = call({
      projectLimits: { daily_budget_usd: 1 },
      estimate: { tokens: 10, costMicros: 30_000 },
    });
    const { allowed } = await admitMany(200, request);
    assert.equal(allowed, 33); // 33 × $0.03 = $0.99
  });

  test("a call refused by one scope reserves nothing in the others", async () => {
    const keyLimits = { requests_per_minute: 5 };
    const a = await admitMany(4, call({ keyLimits, projectLimits: { requests_per_minute: 3 } }));
    assert.equal(a.allowed, 3);
    // The refused fourth call took nothing from the key: two calls are left for it.
    const b = await admitMany(3, call({ keyLimits, projectId: "prj_2" }));
    assert.equal(b.allowed, 2);
  });

  test("settle refunds the unused estimate, and charges a call that used more", async () => {
    const request = call({
      keyLimits: { tokens_per_minute: 1_000, daily_budget_usd: 0.01 },
      estimate: { tokens: 600, costMicros: 6_000 },
    });
    const first = await guard.admit(request);
    await assert.rejects(guard.admit(request));
    await guard.settle(first, { tokens: 100, costMicros: 1_000 });
    const second = await guard.admit(request); // 100 + 600 tokens, 1,000 + 6,000 µ$
    await guard.settle(second, { tokens: 850, costMicros: 8_500 }); // now 950 tokens, 9,500 µ$
    const small = call({ ...request, estimate: { tokens: 50, costMicros: 500 } });
    await guard.admit(small);
    await assert.rejects(guard.admit(small));
  });

  test("Retry-After is the wait after which the call passes again", async () => {
    const request = call({ keyLimits: { requests_per_minute: 10 } });
    assert.equal((await admitMany(10, request)).allowed, 10);
    const err = (await admitMany(1, request)).errors[0]!;
    const wait = err.retryAfterMs!;
    assert.ok(wait > 60_000 && wait <= 120_000, `retry after ${wait} ms`);
    now = START + wait - 1_000;
    assert.equal((await admitMany(1, request)).allowed, 0);
    now = START + wait;
    assert.equal((await admitMany(1, request)).allowed, 1);
  });

  test("rate windows slide, then reset completely after two minutes", async () => {
    const request = call({ projectLimits: { requests_per_minute: 200 } });
    assert.equal((await admitMany(250, request)).allowed, 200);
    now = START + 90_000; // half of the full previous minute still counts
    assert.equal((await admitMany(250, request)).allowed, 100);
    now = START + 180_000;
    assert.equal((await admitMany(250, request)).allowed, 200);
  });

  test("a daily budget resets at UTC midnight while the monthly one keeps counting", async () => {
    const request = call({
      keyLimits: { daily_budget_usd: 0.01, monthly_budget_usd: 0.015 },
      estimate: { tokens: 1, costMicros: 5_000 },
    });
    assert.equal((await admitMany(5, request)).allowed, 2);
    const refused = (await admitMany(1, request)).errors[0]!;
    assert.equal(refused.details.limit, "daily_budget_usd");
    assert.equal(refused.retryAfterMs, 6 * 3_600_000);
    now = Date.UTC(2026, 10, 6, 0, 0, 0);
    const next = await admitMany(5, request);
    assert.equal(next.allowed, 1);
    assert.equal(next.errors[0]!.details.limit, "monthly_budget_usd");
  });

  test("when several limits refuse a call, it is told the longest wait", async () => {
    const request = call({
      keyLimits: { requests_per_minute: 1 },
      projectLimits: { daily_budget_usd: 0.001 },
    });
    await guard.admit(request);
    const err = (await admitMany(1, request)).errors[0]!;
    assert.equal(err.details.limit, "daily_budget_usd");
    assert.equal(err.retryAfterMs, 6 * 3_600_000);
  });

  if (backend === "memory") return;

  test("every counter is namespaced and expires", async () => {
    await guard.admit(
      call({
        keyLimits: { requests_per_minute: 5, tokens_per_minute: 500 },
        projectLimits: { daily_budget_usd: 1, monthly_budget_usd: 2 },
      }),
    );
    const keys = await harness.keys!();
    assert.equal(keys.length, 4);
    for (const { key, ttl } of keys) {
      assert.match(key, /:(key:key_1|project:prj_1):(rpm|tpm|day|month):/);
      const max = /:(rpm|tpm):/.test(key) ? 130_000 : 32 * 86_400_000;
      assert.ok(ttl > 0 && ttl <= max, `${key} expires in ${ttl} ms`);
    }
  });
}

describe("in-process quota store", () => {
  quotaContract(
    () => Promise.resolve({ store: createMemoryQuotaStore(), cleanup: () => Promise.resolve() }),
    "memory",
  );
});

describe("Redis quota store", { skip: redisUrl === undefined && "set KEEL_TEST_REDIS_URL" }, () => {
  const redis = new Redis(redisUrl ?? "redis://127.0.0.1:6379", { lazyConnect: true });
  after(() => redis.quit());

  const keysUnder = async (prefix: string): Promise<string[]> => {
    const found: string[] = [];
    let cursor = "0";
    for (let i = 0; i < 1_000; i++) {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1_000);
      found.push(...batch);
      cursor = next;
      if (cursor === "0") break;
    }
    return found;
  };

  quotaContract(() => {
    const keyPrefix = `keel:quota:test-${randomBytes(6).toString("hex")}:`;
    return Promise.resolve({
      store: createRedisQuotaStore({ redis, keyPrefix }),
      keys: async () =>
        Promise.all(
          (await keysUnder(keyPrefix)).map(async (key) => ({ key, ttl: await redis.pttl(key) })),
        ),
      cleanup: async () => {
        const keys = await keysUnder(keyPrefix);
        if (keys.length > 0) await redis.del(...keys);
      },
    });
  }, "redis");
});
