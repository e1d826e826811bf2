import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Registry } from "prom-client";
import { seededRandom } from "../core/random.ts";
import { ChildCache, CounterChild } from "./labelled-child.ts";
import { createMetrics, type Metrics } from "./metrics.ts";

type Event =
  | { kind: "begin"; model: string }
  | {
      kind: "finish";
      model: string;
      endpoint: string;
      stream: boolean;
      code: string | undefined;
      seconds: number;
      ttft: number | null;
      prompt: number;
      completion: number;
      cost: number;
    }
  | { kind: "attempt"; model: string; deployment: string; outcome: string; seconds: number }
  | { kind: "retry" | "circuit_open"; model: string; deployment: string }
  | { kind: "fallback"; model: string }
  | { kind: "reset_all" }
  | { kind: "reset"; metric: GatewayMetricName }
  | { kind: "remove"; model: string; deployment: string };

const gatewayMetricNames = [
  "requests",
  "latency",
  "ttft",
  "tokens",
  "costMicros",
  "attempts",
  "attemptLatency",
  "retries",
  "fallbacks",
  "inFlight",
] as const;
type GatewayMetricName = (typeof gatewayMetricNames)[number];

/** Events as the gateway makes them, over few label values so series repeat. */
function generateEvents(seed: number, count: number): Event[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const models = ["support-bot", "embedder", 'quo"ted\\model'];
  const deployments = ["openai/gpt-4o-mini", "vllm/llama-3", "ollama/qwen"];
  const endpoints = ["chat.completions", "completions", "embeddings"];
  const codes = [undefined, undefined, undefined, "rate_limited", "provider_timeout", ""];
  const outcomes = ["ok", "ok", "error", "timeout", "rate_limited", "aborted"];
  // Bucket bounds themselves, past the last bound, zero, and odd fractions.
  const seconds = () => pick([0, 0.005, 0.5, 120, 121, 1e-9, random() * 3, random() * 200]);
  const count_ = () => pick([0, 1, Math.floor(random() * 5000)]);
  const events: Event[] = [];
  for (let i = 0; i < count; i++) {
    const model = pick(models);
    const deployment = pick(deployments);
    const r = random();
    if (r < 0.25) events.push({ kind: "begin", model });
    else if (r < 0.5) {
      const stream = random() < 0.5;
      events.push({
        kind: "finish",
        model,
        endpoint: pick(endpoints),
        stream,
        code: pick(codes),
        seconds: seconds(),
        ttft: stream && random() < 0.8 ? seconds() : null,
        prompt: count_(),
        completion: count_(),
        cost: count_() * 7,
      });
    } else if (r < 0.8) {
      events.push({
        kind: "attempt",
        model,
        deployment,
        outcome: pick(outcomes),
        seconds: seconds(),
      });
    } else if (r < 0.87) events.push({ kind: "retry", model, deployment });
    else if (r < 0.92) events.push({ kind: "fallback", model });
    else if (r < 0.95) events.push({ kind: "circuit_open", model, deployment });
    else if (r < 0.97) events.push({ kind: "reset", metric: pick(gatewayMetricNames) });
    else if (r < 0.99) events.push({ kind: "remove", model, deployment });
    else events.push({ kind: "reset_all" });
  }
  return events;
}

/** The plain prom-client calls the gateway made before it cached its children. */
function applyUncached(m: Metrics, e: Event): void {
  switch (e.kind) {
    case "begin":
      return void m.inFlight.inc({ model: e.model });
    case "finish": {
      const model = e.model;
      m.inFlight.dec({ model });
      m.requests.inc({
        endpoint: e.endpoint,
        model,
        status: e.code === undefined ? "ok" : "error",
        code: e.code ?? "",
      });
      m.latency.observe(
        { endpoint: e.endpoint, model, stream: e.stream ? "true" : "false" },
        e.seconds,
      );
      if (e.stream && e.ttft !== null) m.ttft.observe({ model }, e.ttft);
      if (e.prompt > 0) m.tokens.inc({ model, kind: "prompt" }, e.prompt);
      if (e.completion > 0) m.tokens.inc({ model, kind: "completion" }, e.completion);
      if (e.cost > 0) m.costMicros.inc({ model }, e.cost);
      return;
    }
    case "attempt": {
      const labels = { model: e.model, deployment: e.deployment };
      m.attempts.inc({ ...labels, outcome: e.outcome });
      return m.attemptLatency.observe(labels, e.seconds);
    }
    case "retry":
      return m.retries.inc({ model: e.model, deployment: e.deployment });
    case "fallback":
      return m.fallbacks.inc({ model: e.model });
    case "circuit_open":
      return m.attempts.inc({ model: e.model, deployment: e.deployment, outcome: "circuit_open" });
    default:
      return applyToRegistry(m, e);
  }
}

function applyCached(m: Metrics, e: Event): void {
  switch (e.kind) {
    case "begin":
      return m.byModel.get(e.model).inFlight.inc();
    case "finish": {
      const s = m.byModel.get(e.model);
      s.inFlight.dec();
      s.requests(e.endpoint, e.code).inc();
      s.latency(e.endpoint, e.stream).observe(e.seconds);
      if (e.stream && e.ttft !== null) s.ttft.observe(e.ttft);
      if (e.prompt > 0) s.promptTokens.inc(e.prompt);
      if (e.completion > 0) s.completionTokens.inc(e.completion);
      if (e.cost > 0) s.costMicros.inc(e.cost);
      return;
    }
    case "attempt": {
      const s = m.byModel.get(e.model).deployment(e.deployment);
      s.attempts(e.outcome).inc();
      return s.attemptLatency.observe(e.seconds);
    }
    case "retry":
      return m.byModel.get(e.model).deployment(e.deployment).retries.inc();
    case "fallback":
      return m.byModel.get(e.model).fallbacks.inc();
    case "circuit_open":
      return m.byModel.get(e.model).deployment(e.deployment).attempts("circuit_open").inc();
    default:
      return applyToRegistry(m, e);
  }
}

/** Resets and removals go through prom-client on both sides, as an operator's would. */
function applyToRegistry(
  m: Metrics,
  e: Extract<Event, { kind: "reset_all" | "reset" | "remove" }>,
) {
  if (e.kind === "reset_all") m.registry.resetMetrics();
  else if (e.kind === "reset") m[e.metric].reset();
  else {
    m.inFlight.remove({ model: e.model });
    m.attemptLatency.remove({ model: e.model, deployment: e.deployment });
    m.attempts.remove({ model: e.model, deployment: e.deployment, outcome: "ok" });
    m.requests.remove({ endpoint: "chat.completions", model: e.model, status: "ok", code: "" });
  }
}

/** What `GET /metrics` serves, less the process metrics that differ between two registries. */
async function gatewayText(m: Metrics): Promise<string> {
  const text = await m.registry.metrics();
  return text
    .split("\n\n")
    .filter((block) => !block.startsWith("# HELP keel_process_"))
    .join("\n\n");
}

describe("gateway metric children", () => {
  test("render the same /metrics text as plain prom-client calls, across resets and removals", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const uncached = createMetrics();
      const cached = createMetrics();
      const events = generateEvents(seed, 3000);
      for (let i = 0; i < events.length; i++) {
        applyUncached(uncached, events[i]!);
        applyCached(cached, events[i]!);
        if (i % 100 === 99 || i === events.length - 1) {
          assert.equal(
            await gatewayText(cached),
            await gatewayText(uncached),
            `seed ${seed}, event ${i}`,
          );
        }
      }
    }
  });

  test("reject the values prom-client rejects, with its errors, and change nothing", async () => {
    const uncached = createMetrics();
    const cached = createMetrics();
    const labels = { model: "m", kind: "prompt" } as const;
    uncached.tokens.inc(labels, 5);
    cached.byModel.get("m").promptTokens.inc(5);
    for (const value of [-1, Infinity, -Infinity]) {
      assert.throws(
        () => cached.byModel.get("m").promptTokens.inc(value),
        thrownBy(() => uncached.tokens.inc(labels, value)),
      );
    }
    for (const value of [NaN, Infinity]) {
      assert.throws(
        () => cached.byModel.get("m").ttft.observe(value),
        thrownBy(() => uncached.ttft.observe({ model: "m" }, value)),
      );
    }
    assert.equal(await gatewayText(cached), await gatewayText(uncached));
  });

  test("a cache past its limit starts over, and children it dropped still count", async () => {
    const registry = new Registry();
    const counter = new Counter({ name: "c", help: "h", labelNames: ["k"], registers: [registry] });
    const cache = new ChildCache((k: string) => new CounterChild(counter, { k }), 2);
    const dropped = cache.get("a");
    for (const k of ["a", "b", "c", "a", "c"]) cache.get(k).inc();
    dropped.inc();
    assert.notEqual(cache.get("a"), dropped);
    assert.equal(
      await registry.metrics(),
      '# HELP c h\n# TYPE c counter\nc{k="a"} 3\nc{k="b"} 1\nc{k="c"} 2\n',
    );
  });
});

function thrownBy(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected prom-client to throw");
}
