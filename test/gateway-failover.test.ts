import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Attempt } from "../src/traces/schema.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/**
 * Retries, fallback, timeouts, circuit breaking and streaming failures against real fake
 * upstreams, read back through the traces Keel stored.
 */
describe("gateway failover end to end", () => {
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let keel: RunningKeel;

  before(async () => {
    a = await startFakeOpenAI({ name: "a" });
    b = await startFakeOpenAI({ name: "b" });
    const retry = { max_attempts: 1, base_delay_ms: 5, max_delay_ms: 50 };
    keel = await startKeel({
      providers: {
        a: { type: "openai-compatible", base_url: a.url },
        b: { type: "openai-compatible", base_url: b.url },
      },
      models: [
        {
          name: "retrying",
          retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 2_000 },
          deployments: [{ provider: "a", model: "x" }],
        },
        {
          name: "fallback",
          retry,
          deployments: [
            { provider: "a", model: "x", timeout_ms: 200 },
            { provider: "b", model: "y", priority: 1 },
          ],
        },
        {
          name: "breaking",
          retry,
          circuit_breaker: { consecutive_failures: 2, open_ms: 300 },
          deployments: [{ provider: "a", model: "x" }],
        },
        {
          name: "streaming",
          retry,
          price: { input_per_mtok: 1, output_per_mtok: 1 },
          deployments: [
            { provider: "a", model: "x" },
            { provider: "b", model: "y", priority: 1 },
          ],
        },
      ],
    });
  });

  after(async () => {
    await keel.close();
    await a.close();
    await b.close();
  });

  beforeEach(() => {
    a.reset();
    b.reset();
  });

  async function post(model: string, extra: Record<string, unknown> = {}) {
    const res = await fetch(`${keel.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...keel.headers, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Say hello" }], ...extra }),
    });
    return { res, text: await res.text(), traceId: res.headers.get("x-keel-trace-id") ?? "" };
  }

  async function trace(id: string) {
    await keel.keel.traces.flush();
    const row = await keel.keel.database.db
      .selectFrom("traces")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    return { ...row, attempts: JSON.parse(row.attempts) as Attempt[] };
  }

  function events(text: string): unknown[] {
    return text
      .split("\n\n")
      .filter((block) => block.startsWith("data: "))
      .map((block) => block.slice(6))
      .map((data) => (data === "[DONE]" ? data : (JSON.parse(data) as unknown)));
  }

  /** Polls `check` every 20 ms for up to 2 s. */
  async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await sleep(20);
    }
    assert.fail(`timed out waiting for ${what}`);
  }

  test("retries 500s, then succeeds, recording every attempt", async () => {
    a.queueFaults({ kind: "status", status: 500 }, { kind: "status", status: 502 });
    const { res, traceId } = await post("retrying");
    assert.equal(res.status, 200);
    assert.equal(a.requests.length, 3);
    const t = await trace(traceId);
    assert.equal(t.status, "ok");
    assert.deepEqual(
      t.attempts.map((x) => [x.deployment, x.outcome, x.http_status]),
      [
        ["a/x", "error", 500],
        ["a/x", "error", 502],
        ["a/x", "ok", undefined],
      ],
    );
  });

  test("retries a connection reset", async () => {
    a.queueFaults({ kind: "reset" });
    const { res, traceId } = await post("retrying");
    assert.equal(res.status, 200);
    const t = await trace(traceId);
    assert.deepEqual(
      t.attempts.map((x) => x.outcome),
      ["error", "ok"],
    );
  });

  test("waits out a 429's Retry-After when it fits in max_delay_ms", async () => {
    a.queueFaults({ kind: "status", status: 429, retryAfter: "1" });
    const started = Date.now();
    const { res, traceId } = await post("retrying");
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started >= 950, "the retry came before Retry-After");
    const t = await trace(traceId);
    assert.deepEqual(
      t.attempts.map((x) => x.outcome),
      ["rate_limited", "ok"],
    );
  });

  test("returns a 429 with its Retry-After at once when the wait exceeds max_delay_ms", async () => {
    a.queueFaults({ kind: "status", status: 429, retryAfter: "30" });
    const started = Date.now();
    const { res, text } = await post("retrying");
    assert.ok(Date.now() - started < 1_000);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "30");
    assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, "rate_limited");
    assert.equal(a.requests.length, 1);
  });

  test("a deployment hanging past its timeout is abandoned for the priority 1 group", async () => {
    a.queueFaults({ kind: "hang", ms: 5_000 });
    const { res, text, traceId } = await post("fallback");
    assert.equal(res.status, 200);
    assert.match(text, /Hello from b/);
    const t = await trace(traceId);
    assert.deepEqual(
      t.attempts.map((x) => [x.deployment, x.outcome]),
      [
        ["a/x", "timeout"],
        ["b/y", "ok"],
      ],
    );
    await eventually(() => a.abortedRequests === 1, "the hung upstream call to be cancelled");
  });

  test("the breaker opens after repeated failures, stops calling upstream, and closes via a probe", async () => {
    a.setFault({ kind: "status", status: 500 });
    for (let i = 0; i < 2; i++) assert.equal((await post("breaking")).res.status, 502);
    const refused = await post("breaking");
    assert.equal(refused.res.status, 503);
    assert.match(refused.text, /no_healthy_deployment/);
    assert.equal(a.requests.length, 2, "the open breaker kept the upstream out of it");
    const t = await trace(refused.traceId);
    assert.deepEqual(
      t.attempts.map((x) => x.outcome),
      ["circuit_open"],
    );

    a.setFault(undefined);
    await sleep(320);
    assert.equal((await post("breaking")).res.status, 200, "the half-open probe went through");
    assert.equal((await post("breaking")).res.status, 200);
    const gauge = await keel.keel.metrics.breakerState.get();
    const state = gauge.values.find((v) => v.labels.model === "breaking");
    assert.equal(state?.value, 0);
  });

  test("a stream that fails before its first byte fails over and the client sees a clean stream", async () => {
    a.queueFaults({ kind: "status", status: 503 });
    const { res, text, traceId } = await post("streaming", { stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const all = events(text);
    assert.equal(all.at(-1), "[DONE]");
    const content = all
      .slice(0, -1)
      .map(
        (e) =>
          (e as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "",
      )
      .join("");
    assert.equal(content, "Hello from b");
    const t = await trace(traceId);
    assert.equal(t.status, "ok");
    assert.deepEqual(
      t.attempts.map((x) => x.outcome),
      ["error", "ok"],
    );
    assert.ok(t.cost_micros > 0 && t.completion_tokens > 0);
  });

  test("a stream cut mid-way ends with an error event and finish_reason error, traced as an error", async () => {
    a.queueFaults({ kind: "cut-stream", afterChunks: 1 });
    const { res, text, traceId } = await post("streaming", { stream: true });
    assert.equal(res.status, 200);
    const all = events(text);
    assert.equal(all.at(-1), "[DONE]");
    const error = all.at(-3) as { error: { code: string; message: string } };
    assert.equal(error.error.code, "provider_error");
    const closing = all.at(-2) as { choices: { finish_reason: string }[] };
    assert.equal(closing.choices[0]!.finish_reason, "error");
    assert.equal(b.requests.length, 0, "no failover once bytes reached the client");
    const t = await trace(traceId);
    assert.equal(t.status, "error");
    assert.equal(t.finish_reason, "error");
    assert.equal(t.error_code, "provider_error");
    assert.ok(t.completion_tokens > 0, "the tokens that did stream are counted");
  });

  test("a client that disconnects mid-stream aborts the upstream call", async () => {
    a.configure({ chunkDelayMs: 200 });
    const body = JSON.stringify({
      model: "streaming",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const traceId = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${keel.url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...keel.headers, "content-type": "application/json" },
      });
      req.on("response", (res) => {
        res.once("data", () => {
          req.destroy();
          resolve(String(res.headers["x-keel-trace-id"]));
        });
      });
      req.on("error", (err) => {
        if (!req.destroyed) reject(err);
      });
      req.end(body);
    });
    await eventually(() => a.abortedRequests === 1, "the upstream to see its call cancelled");
    await eventually(
      async () => (await trace(traceId).catch(() => undefined)) !== undefined,
      "the trace",
    );
    const t = await trace(traceId);
    assert.equal(t.error_code, "client_closed");
    assert.equal(t.attempts[0]!.outcome, "aborted");
  });
});
