import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/core/config.ts";
import { createLogger } from "../src/core/logger.ts";
import { createHttpServer } from "../src/core/server.ts";
import { createMemoryQuotaStore, createQuotaGuard } from "../src/quotas/index.ts";

/**
 * What an OpenAI client sees when a quota refuses its call: a 429 with Retry-After in whole
 * seconds and OpenAI's error object, rendered by Keel's one error handler.
 */
function server() {
  const config = parseConfig({}, { env: {}, source: undefined, overrides: {} });
  const app = createHttpServer(config, createLogger("silent"));
  const now = Date.UTC(2026, 10, 5, 18, 0, 0);
  const guard = createQuotaGuard({ store: createMemoryQuotaStore(), clock: () => now });
  app.post("/v1/chat/completions", async () => {
    await guard.admit({
      keyId: "key_1",
      projectId: "prj_1",
      projectLimits: { requests_per_minute: 2 },
      estimate: { tokens: 20, costMicros: 0 },
    });
    return { ok: true };
  });
  return app;
}

describe("quota refusals over HTTP", () => {
  test("the call over the limit gets 429, Retry-After and the OpenAI error shape", async () => {
    const app = server();
    const post = () => app.inject({ method: "POST", url: "/v1/chat/completions", payload: {} });
    assert.equal((await post()).statusCode, 200);
    assert.equal((await post()).statusCode, 200);
    const res = await post();
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers["retry-after"], "90"); // the next minute, once half of it has passed
    assert.deepEqual(res.json(), {
      error: {
        message: "project prj_1 exceeded requests_per_minute (2); retry in 90 s",
        type: "rate_limit_error",
        code: "rate_limited",
        param: null,
      },
    });
    await app.close();
  });
});
