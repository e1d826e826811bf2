import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { KeelError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import { createQuotaStore } from "./create-store.ts";
import { createQuotaGuard } from "./guard.ts";

/** A 127.0.0.1 port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

describe("quota store selection", () => {
  test("without a Redis URL the counters live in process", async () => {
    const store = createQuotaStore({});
    assert.equal(store.backend, "memory");
    await store.close();
  });

  test("with Redis down, calls fail fast by policy and the log never shows the URL's password", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
    const store = createQuotaStore({
      redisUrl: `redis://:hunter2-secret@127.0.0.1:${await closedPort()}`,
      timeoutMs: 200,
      logger,
    });
    assert.equal(store.backend, "redis");
    const guard = createQuotaGuard({ store, logger });
    const base = { keyId: "key_1", projectId: "prj_1", estimate: { tokens: 1, costMicros: 1 } };
    const started = Date.now();
    await guard.admit({ ...base, keyLimits: { requests_per_minute: 10 } });
    await assert.rejects(
      guard.admit({ ...base, keyLimits: { daily_budget_usd: 10 } }),
      (err: unknown) => err instanceof KeelError && err.code === "quota_unavailable",
    );
    assert.ok(Date.now() - started < 5_000, "a dead Redis must not hold calls for long");
    await store.close();
    const log = lines.join("");
    assert.match(log, /quota store/);
    assert.doesNotMatch(log, /hunter2/);
  });
});
