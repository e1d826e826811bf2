import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { parseConfig } from "../core/config.ts";
import { KeelError } from "../core/errors.ts";
import { createMetrics, type Metrics } from "../monitoring/metrics.ts";
import type { Provider } from "../providers/provider.ts";
import type { ProviderSet } from "../providers/registry.ts";
import { Call } from "./call.ts";
import { Capability } from "./deployment.ts";
import { runWithFailover } from "./failover.ts";
import { buildRoutes, type ModelRoute } from "./router.ts";
import { meta } from "../../test/fixtures/memory-gateway.ts";

/** Routing only needs a provider's name and capabilities; calls go through `invoke`. */
function stubProvider(name: string): Provider {
  const unused = () => {
    throw new Error("not called in these tests");
  };
  return {
    name,
    type: "openai-compatible",
    capabilities: {
      chat: true,
      completions: false,
      embeddings: false,
      logprobs: false,
      tools: false,
      score: false,
    },
    chat: unused,
    stream: unused,
    health: () => Promise.resolve({ ok: true }),
    close: () => Promise.resolve(),
  };
}

interface Setup {
  route: ModelRoute;
  metrics: Metrics;
  advance(ms: number): void;
}

function setup(model: Record<string, unknown>): Setup {
  const names = ["a", "b", "c"];
  const config = parseConfig(
    {
      providers: Object.fromEntries(
        names.map((n) => [n, { type: "openai-compatible", base_url: "http://127.0.0.1:9/v1" }]),
      ),
      models: [{ name: "m", retry: { base_delay_ms: 1, max_delay_ms: 50 }, ...model }],
    },
    { env: {}, source: undefined, overrides: {} },
  );
  const providers = new Map(names.map((n) => [n, stubProvider(n)]));
  const set: ProviderSet = {
    get: (n) => providers.get(n),
    all: () => [...providers.values()],
    warmup: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  let now = 1_000_000;
  const routes = buildRoutes(config.models, set, {
    now: () => now,
    random: () => 0,
    onBreakerChange: () => undefined,
  });
  return { route: routes.get("m")!, metrics: createMetrics(), advance: (ms) => void (now += ms) };
}

function newCall(route: ModelRoute, signal: AbortSignal = new AbortController().signal): Call {
  return new Call(meta(signal), "chat.completions", route, false, 60_000);
}

const upstream500 = () =>
  new KeelError("provider_error", "upstream failed (HTTP 500)", { status: 500, retryable: true });

/** An invoke that answers per deployment label from a script; records the order of calls. */
function scripted(script: Record<string, (() => unknown)[]>) {
  const calls: string[] = [];
  const invoke = async (d: { label: string }, signal: AbortSignal): Promise<string> => {
    calls.push(d.label);
    const step = script[d.label]?.shift();
    const outcome = step === undefined ? "ok" : step();
    if (outcome instanceof Error) throw outcome;
    if (outcome === "hang") {
      await new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason as Error)),
      );
    }
    return `answer from ${d.label}`;
  };
  return { calls, invoke };
}

const run = (s: Setup, call: Call, invoke: ReturnType<typeof scripted>["invoke"]) =>
  runWithFailover(call, Capability.chat, invoke, {
    metrics: s.metrics,
    random: () => 0,
    settleOnSuccess: true,
  });

async function counter(metric: Metrics["fallbacks"] | Metrics["retries"]): Promise<number> {
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe("failover", () => {
  test("retries a 500 on another deployment of the same group before the same one again", async () => {
    const s = setup({
      strategy: "round-robin",
      deployments: [
        { provider: "a", model: "x" },
        { provider: "b", model: "x" },
      ],
    });
    const { calls, invoke } = scripted({ "a/x": [upstream500] });
    const call = newCall(s.route);
    const { value } = await run(s, call, invoke);
    assert.equal(value, "answer from b/x");
    assert.deepEqual(calls, ["a/x", "b/x"]);
    assert.deepEqual(
      call.attempts.map((a) => [a.deployment, a.outcome, a.http_status]),
      [
        ["a/x", "error", 500],
        ["b/x", "ok", undefined],
      ],
    );
    assert.equal(await counter(s.metrics.retries), 1);
  });

  test("retries the only deployment with backoff until it succeeds", async () => {
    const s = setup({ deployments: [{ provider: "a", model: "x" }] });
    const { calls, invoke } = scripted({ "a/x": [upstream500, upstream500] });
    const { value } = await run(s, newCall(s.route), invoke);
    assert.equal(value, "answer from a/x");
    assert.equal(calls.length, 3);
  });

  test("returns a non-retryable error at once", async () => {
    const s = setup({
      deployments: [
        { provider: "a", model: "x" },
        { provider: "b", model: "x", priority: 1 },
      ],
    });
    const bad = () => new KeelError("invalid_request", "upstream refused the request");
    const { calls, invoke } = scripted({ "a/x": [bad] });
    await assert.rejects(run(s, newCall(s.route), invoke), {
      code: "invalid_request",
      status: 400,
    });
    assert.deepEqual(calls, ["a/x"]);
  });

  test("falls back to the next priority group once max_attempts are spent", async () => {
    const s = setup({
      retry: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 5 },
      deployments: [
        { provider: "a", model: "x" },
        { provider: "b", model: "y", priority: 1 },
      ],
    });
    const { calls, invoke } = scripted({ "a/x": [upstream500, upstream500, upstream500] });
    const { value } = await run(s, newCall(s.route), invoke);
    assert.equal(value, "answer from b/y");
    assert.deepEqual(calls, ["a/x", "a/x", "b/y"]);
    assert.equal(await counter(s.metrics.fallbacks), 1);
  });

  test("when every attempt fails with a 500 the client gets a 502 naming the last cause", async () => {
    const s = setup({
      retry: { max_attempts: 2, base_delay_ms: 0, max_delay_ms: 0 },
      deployments: [{ provider: "a", model: "x" }],
    });
    const { invoke } = scripted({ "a/x": [upstream500, upstream500] });
    await assert.rejects(run(s, newCall(s.route), invoke), (err: KeelError) => {
      assert.equal(err.code, "provider_error");
      assert.equal(err.status, 502);
      assert.match(err.message, /2 attempts failed.*HTTP 500/);
      return true;
    });
  });

  test("an attempt that outlives timeout_ms is a timeout and the call moves on", async () => {
    const s = setup({
      deployments: [
        { provider: "a", model: "x", timeout_ms: 30 },
        { provider: "b", model: "x", priority: 1 },
      ],
    });
    const { invoke } = scripted({ "a/x": [() => "hang", () => "hang", () => "hang"] });
    const call = newCall(s.route);
    const { value } = await run(s, call, invoke);
    assert.equal(value, "answer from b/x");
    assert.deepEqual(
      call.attempts.map((a) => a.outcome),
      ["timeout", "timeout", "timeout", "ok"],
    );
    assert.equal(call.attempts[0]!.error_code, "provider_timeout");
  });

  test("a Retry-After longer than max_delay_ms moves on instead of sleeping", async () => {
    const s = setup({
      deployments: [
        { provider: "a", model: "x" },
        { provider: "b", model: "x", priority: 1 },
      ],
    });
    const limited = () =>
      new KeelError("rate_limited", "slow down", { retryable: true, retryAfterMs: 30_000 });
    const { calls, invoke } = scripted({ "a/x": [limited] });
    const started = Date.now();
    const call = newCall(s.route);
    await run(s, call, invoke);
    assert.ok(Date.now() - started < 1_000);
    assert.deepEqual(calls, ["a/x", "b/x"]);
    assert.equal(call.attempts[0]!.outcome, "rate_limited");
  });

  test("a Retry-After within max_delay_ms is waited out, then the same deployment retried", async () => {
    const s = setup({ deployments: [{ provider: "a", model: "x" }] });
    const limited = () =>
      new KeelError("rate_limited", "slow down", { retryable: true, retryAfterMs: 40 });
    const { calls, invoke } = scripted({ "a/x": [limited] });
    const started = Date.now();
    await run(s, newCall(s.route), invoke);
    assert.ok(Date.now() - started >= 35);
    assert.deepEqual(calls, ["a/x", "a/x"]);
  });

  test("an open breaker skips its deployment; with none left the answer is 503 circuit_open", async () => {
    const s = setup({
      retry: { max_attempts: 1 },
      circuit_breaker: { consecutive_failures: 2, open_ms: 1_000 },
      deployments: [{ provider: "a", model: "x" }],
    });
    const { calls, invoke } = scripted({ "a/x": [upstream500, upstream500] });
    for (let i = 0; i < 2; i++) await assert.rejects(run(s, newCall(s.route), invoke));
    const call = newCall(s.route);
    await assert.rejects(run(s, call, invoke), { code: "no_healthy_deployment", status: 503 });
    assert.equal(calls.length, 2, "the open deployment was not called");
    assert.deepEqual(
      call.attempts.map((a) => [a.deployment, a.outcome]),
      [["a/x", "circuit_open"]],
    );

    s.advance(1_000);
    const probe = newCall(s.route);
    const { value } = await run(s, probe, invoke);
    assert.equal(value, "answer from a/x", "a half-open probe went through and succeeded");
    assert.equal(s.route.deployments[0]!.breaker.state, "closed");
  });

  test("a client that goes away stops the retries", async () => {
    const s = setup({
      deployments: [
        { provider: "a", model: "x" },
        { provider: "b", model: "x" },
      ],
    });
    const controller = new AbortController();
    const { calls, invoke } = scripted({ "a/x": [() => "hang"], "b/x": [() => "hang"] });
    const call = newCall(s.route, controller.signal);
    const running = run(s, call, invoke);
    await sleep(10);
    controller.abort();
    await assert.rejects(running, { code: "client_closed" });
    assert.equal(calls.length, 1);
    assert.equal(call.attempts[0]!.outcome, "aborted");
    assert.equal(s.route.deployments[0]!.inFlight, 0);
  });
});
