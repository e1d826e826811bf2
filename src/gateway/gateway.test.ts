import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { anonymousOwner } from "../auth/index.ts";
import { KeelError } from "../core/errors.ts";
import type { CallOptions, Provider, ProviderCapabilities } from "../providers/provider.ts";
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../providers/schema.ts";
import {
  createMemoryGateway,
  hello,
  meta,
  price,
  usageOf,
} from "../../test/fixtures/memory-gateway.ts";

/**
 * The gateway service over a small in-memory provider: what reaches the provider, what the
 * client gets back, and the trace recorded. Streams: stream-session.test.ts.
 */

type Step = { kind: "ok"; usage?: boolean } | { kind: "fail"; error: KeelError } | { kind: "hang" };

class MemoryProvider implements Provider {
  readonly name: string;
  readonly type = "openai-compatible" as const;
  readonly capabilities: ProviderCapabilities;
  readonly requests: ChatRequest[] = [];
  readonly signals: AbortSignal[] = [];
  readonly steps: Step[] = [];
  healthy = true;

  constructor(name: string, capabilities: Partial<ProviderCapabilities> = {}) {
    this.name = name;
    this.capabilities = {
      chat: true,
      completions: false,
      embeddings: false,
      logprobs: false,
      tools: true,
      score: false,
      ...capabilities,
    };
  }

  async chat(req: ChatRequest, { signal }: CallOptions): Promise<ChatCompletion> {
    const step = await this.#begin(req, signal);
    const usage = step.kind === "ok" && step.usage === false ? {} : { usage: usageOf(4, 3) };
    return {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: req.model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: `hi from ${this.name}` },
          finish_reason: "stop",
        },
      ],
      ...usage,
    };
  }

  stream(): AsyncIterable<ChatCompletionChunk> {
    throw new Error("streams are tested in stream-session.test.ts");
  }

  health() {
    return Promise.resolve({ ok: this.healthy });
  }

  close() {
    return Promise.resolve();
  }

  async #begin(req: ChatRequest, signal: AbortSignal): Promise<Step> {
    this.requests.push(req);
    this.signals.push(signal);
    const step = this.steps.shift() ?? { kind: "ok" };
    if (step.kind === "fail") throw step.error;
    if (step.kind === "hang") {
      await new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason as Error)),
      );
    }
    return step;
  }
}

function setup(
  models: Record<string, unknown>[],
  providers: MemoryProvider[],
  traces: { bodies?: string } = {},
) {
  return createMemoryGateway(providers, { models, traces });
}

describe("gateway", () => {
  test("passes every field the client sent through, rewriting only the model", async () => {
    const p = new MemoryProvider("a");
    const { gateway } = setup(
      [{ name: "org/chat:v1", deployments: [{ provider: "a", model: "upstream-x" }] }],
      [p],
    );
    const req = hello("org/chat:v1", {
      temperature: 0.2,
      max_completion_tokens: 7,
      max_tokens: 9,
      seed: 3,
      stop: ["\n"],
      response_format: { type: "json_object" },
      tools: [{ type: "function", function: { name: "f" } }],
      cache_control: { type: "ephemeral" },
    });
    const res = await gateway.chat(req, meta());
    assert.deepEqual(p.requests[0], { ...req, model: "upstream-x" });
    assert.equal(res.model, "org/chat:v1");
    assert.equal(req.model, "org/chat:v1", "the client's request object is left as it was");
  });

  test("records a trace with usage, cost, attempts and bodies", async () => {
    const p = new MemoryProvider("a");
    p.steps.push({
      kind: "fail",
      error: new KeelError("provider_error", "boom", { status: 503, retryable: true }),
    });
    const { gateway, traces } = setup(
      [
        {
          name: "m",
          price,
          retry: { base_delay_ms: 0 },
          deployments: [{ provider: "a", model: "x" }],
        },
      ],
      [p],
    );
    await gateway.chat(hello("m"), meta());
    const t = traces[0]!;
    assert.equal(t.status, "ok");
    assert.equal(t.http_status, 200);
    assert.equal(t.model, "m");
    assert.equal(t.request_id, "req_test");
    assert.deepEqual([t.prompt_tokens, t.completion_tokens, t.tokens_estimated], [4, 3, false]);
    assert.equal(t.cost_micros, 4 * 2 + 3 * 10);
    assert.deepEqual(
      t.attempts.map((a) => a.outcome),
      ["error", "ok"],
    );
    assert.equal(t.finish_reason, "stop");
    assert.deepEqual(t.metadata, { user_agent: "test-agent" });
    assert.equal((t.request_body as ChatRequest).model, "m");
    assert.equal((t.response_body as ChatCompletion).model, "m");
  });

  test("estimates tokens when the provider reports no usage, and never records $0", async () => {
    const p = new MemoryProvider("a");
    p.steps.push({ kind: "ok", usage: false });
    const { gateway, traces } = setup(
      [{ name: "m", price, deployments: [{ provider: "a", model: "x" }] }],
      [p],
      {
        bodies: "metadata",
      },
    );
    await gateway.chat(hello("m"), meta());
    const t = traces[0]!;
    assert.equal(t.tokens_estimated, true);
    assert.ok(t.prompt_tokens > 0 && t.completion_tokens > 0);
    assert.ok(t.cost_micros > 0);
    assert.equal(t.request_body, null, "bodies: metadata keeps no bodies");
  });

  test("rejects an unknown model with 404 listing the available ones, untraced", async () => {
    const { gateway, traces } = setup(
      [{ name: "m", deployments: [{ provider: "a", model: "x" }] }],
      [new MemoryProvider("a")],
    );
    await assert.rejects(gateway.chat(hello("nope"), meta()), (err: KeelError) => {
      assert.equal(err.code, "model_not_found");
      assert.match(err.message, /"nope".*: m$/);
      return true;
    });
    assert.equal(traces.length, 0);
  });

  test("an embedding model on the chat endpoint is a 400 and is traced", async () => {
    const { gateway, traces } = setup(
      [{ name: "emb", kind: "embedding", deployments: [{ provider: "a", model: "x" }] }],
      [new MemoryProvider("a", { embeddings: true })],
    );
    await assert.rejects(gateway.chat(hello("emb"), meta()), {
      code: "invalid_request",
      status: 400,
    });
    assert.equal(traces[0]!.http_status, 400);
  });

  test("a capability no deployment has is 400 unsupported; a mixed model routes to the capable one", async () => {
    const plain = new MemoryProvider("plain", { tools: false });
    const tooled = new MemoryProvider("tooled");
    const { gateway } = setup(
      [
        { name: "only-plain", deployments: [{ provider: "plain", model: "x" }] },
        {
          name: "mixed",
          deployments: [
            { provider: "plain", model: "x" },
            { provider: "tooled", model: "y", priority: 1 },
          ],
        },
      ],
      [plain, tooled],
    );
    const tools = { tools: [{ type: "function", function: { name: "f" } }] };
    await assert.rejects(gateway.chat(hello("only-plain", tools), meta()), (err: KeelError) => {
      assert.equal(err.code, "unsupported");
      assert.match(err.message, /tools/);
      return true;
    });
    await gateway.chat(hello("mixed", tools), meta());
    assert.equal(plain.requests.length, 0);
    assert.equal(tooled.requests.length, 1);
  });

  test("an invalid body naming a configured model is traced as a 400", () => {
    const { gateway, traces } = setup(
      [{ name: "m", deployments: [{ provider: "a", model: "x" }] }],
      [new MemoryProvider("a")],
    );
    const error = new KeelError("invalid_request", "messages: required", { param: "messages" });
    gateway.rejected("chat.completions", "m", { model: "m" }, error, meta());
    gateway.rejected("chat.completions", "unknown", { model: "unknown" }, error, meta());
    assert.equal(traces.length, 1);
    assert.equal(traces[0]!.error_code, "invalid_request");
    assert.equal(traces[0]!.attempts.length, 0);
  });

  test("readiness needs a healthy provider and a breaker that is not open for every model", async () => {
    const a = new MemoryProvider("a");
    const b = new MemoryProvider("b");
    const { gateway } = setup(
      [
        {
          name: "m1",
          deployments: [
            { provider: "a", model: "x" },
            { provider: "b", model: "x" },
          ],
        },
        { name: "m2", deployments: [{ provider: "b", model: "y" }] },
      ],
      [a, b],
    );
    assert.deepEqual(await gateway.readiness(), {
      ready: true,
      models: { m1: { healthy: 2, total: 2 }, m2: { healthy: 1, total: 1 } },
    });
    b.healthy = false;
    assert.deepEqual(await gateway.readiness(), {
      ready: false,
      models: { m1: { healthy: 1, total: 2 }, m2: { healthy: 0, total: 1 } },
    });
  });

  test("lists its models with kind and creation time", () => {
    const { gateway } = setup(
      [
        { name: "c", deployments: [{ provider: "a", model: "x" }] },
        { name: "e", kind: "embedding", deployments: [{ provider: "a", model: "x" }] },
      ],
      [new MemoryProvider("a")],
    );
    assert.deepEqual(
      gateway.models(anonymousOwner).map((m) => [m.id, m.kind]),
      [
        ["c", "chat"],
        ["e", "embedding"],
      ],
    );
    assert.ok(Number.isInteger(gateway.models(anonymousOwner)[0]!.created));
  });
});
