import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
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
import type { SseSink } from "./sse-writer.ts";

/**
 * Streams through the gateway service over a small in-memory streaming provider, relayed into
 * an in-memory SSE sink: failover before the first chunk, the error event after it, usage,
 * cancellation and shutdown.
 */

/** How the provider's next stream behaves; by default three pieces, then usage. */
interface Script {
  /** Fail before the first chunk. */
  error?: KeelError;
  /** Throw after this many content pieces. */
  failAfter?: number;
  /** Wait between pieces (aborted with the call). */
  gapMs?: number;
  /** Send the usage chunk (as a provider asking for `include_usage` gets). */
  usage?: boolean;
}

class StreamProvider implements Provider {
  readonly name: string;
  readonly type = "openai-compatible" as const;
  readonly capabilities: ProviderCapabilities = {
    chat: true,
    completions: false,
    embeddings: false,
    logprobs: false,
    tools: false,
    score: false,
  };
  readonly requests: ChatRequest[] = [];
  readonly signals: AbortSignal[] = [];
  readonly scripts: Script[] = [];

  constructor(name: string) {
    this.name = name;
  }

  chat(): Promise<ChatCompletion> {
    return Promise.reject(new Error("only streams here"));
  }

  async *stream(req: ChatRequest, { signal }: CallOptions): AsyncGenerator<ChatCompletionChunk> {
    this.requests.push(req);
    this.signals.push(signal);
    const script = this.scripts.shift() ?? {};
    if (script.error !== undefined) throw script.error;
    const chunk = (
      delta: Record<string, unknown>,
      finish: string | null = null,
    ): ChatCompletionChunk => ({
      id: "chatcmpl-2",
      object: "chat.completion.chunk",
      created: 1,
      model: req.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    yield chunk({ role: "assistant", content: "" });
    const pieces = ["one ", "two ", "three"];
    for (let i = 0; i < pieces.length; i++) {
      if (script.failAfter === i) {
        throw new KeelError("provider_error", "the upstream connection broke", { retryable: true });
      }
      if (script.gapMs !== undefined) await sleep(script.gapMs, undefined, { signal });
      yield chunk({ content: pieces[i] });
    }
    yield chunk({}, "stop");
    if (script.usage !== false) yield { ...chunk({}), choices: [], usage: usageOf(5, 3) };
  }

  health() {
    return Promise.resolve({ ok: true });
  }

  close() {
    return Promise.resolve();
  }
}

class MemorySink implements SseSink {
  readonly events: Record<string, unknown>[] = [];
  ended = false;
  get closed() {
    return this.ended;
  }
  open() {}
  send(json: string) {
    this.events.push(JSON.parse(json) as Record<string, unknown>);
    return undefined;
  }
  end() {
    this.ended = true;
  }
}

function setup(model: Record<string, unknown>, providers: StreamProvider[]) {
  const { gateway, traces } = createMemoryGateway(providers, { models: [model] });
  return { gateway, traces };
}

describe("streams through the gateway", () => {
  const model = (over: Record<string, unknown> = {}) => ({
    name: "m",
    price,
    retry: { base_delay_ms: 0 },
    deployments: [
      { provider: "a", model: "x" },
      { provider: "b", model: "x", priority: 1 },
    ],
    ...over,
  });

  test("fails over before the first chunk and strips the usage chunk the client did not ask for", async () => {
    const a = new StreamProvider("a");
    const b = new StreamProvider("b");
    const down = () => new KeelError("provider_error", "down", { status: 502, retryable: true });
    a.scripts.push({ error: down() }, { error: down() }, { error: down() });
    const { gateway, traces } = setup(model(), [a, b]);
    const session = await gateway.streamChat(hello("m", { stream: true }), meta());
    const sink = new MemorySink();
    await session.pipeTo(sink);
    assert.equal(b.requests[0]!.stream, true);
    assert.equal(
      b.requests[0]!.stream_options,
      undefined,
      "the provider decides whether to ask for usage",
    );
    const text = sink.events
      .map((e) => (e.choices as { delta: { content?: string } }[])[0]?.delta.content ?? "")
      .join("");
    assert.equal(text, "one two three");
    assert.ok(sink.events.every((e) => e.usage === undefined && e.model === "m"));
    assert.equal(sink.ended, true);
    const t = traces[0]!;
    assert.equal(t.status, "ok");
    assert.deepEqual([t.prompt_tokens, t.completion_tokens, t.tokens_estimated], [5, 3, false]);
    assert.equal(t.attempts.length, 4);
    assert.ok(t.ttft_ms !== null);
    const body = t.response_body as { choices: { message: { content: string } }[] };
    assert.equal(body.choices[0]!.message.content, "one two three");
  });

  test("forwards the usage chunk when the client asked for it", async () => {
    const { gateway } = setup(model(), [new StreamProvider("a"), new StreamProvider("b")]);
    const req = hello("m", { stream: true, stream_options: { include_usage: true } });
    const sink = new MemorySink();
    await (await gateway.streamChat(req, meta())).pipeTo(sink);
    assert.deepEqual(sink.events.at(-1)!.usage, usageOf(5, 3));
  });

  test("estimates usage when the upstream sends none, and tells a client that asked", async () => {
    const a = new StreamProvider("a");
    a.scripts.push({ usage: false });
    const { gateway, traces } = setup(model(), [a, new StreamProvider("b")]);
    const req = hello("m", { stream: true, stream_options: { include_usage: true } });
    const sink = new MemorySink();
    await (await gateway.streamChat(req, meta())).pipeTo(sink);
    const usage = sink.events.at(-1)!.usage as { completion_tokens: number };
    assert.equal(usage.completion_tokens, Math.ceil("one two three".length / 4));
    assert.equal(traces[0]!.tokens_estimated, true);
    assert.ok(traces[0]!.cost_micros > 0);
  });

  test("a failure after the first chunk ends the stream with an error event and finish_reason error", async () => {
    const a = new StreamProvider("a");
    const b = new StreamProvider("b");
    a.scripts.push({ failAfter: 1 });
    const { gateway, traces } = setup(model(), [a, b]);
    const sink = new MemorySink();
    await (await gateway.streamChat(hello("m", { stream: true }), meta())).pipeTo(sink);
    assert.equal(b.requests.length, 0, "no failover after the first byte");
    const error = sink.events.at(-2)!.error as { code: string };
    assert.equal(error.code, "provider_error");
    const last = sink.events.at(-1)! as { choices: { finish_reason: string }[] };
    assert.equal(last.choices[0]!.finish_reason, "error");
    assert.equal(sink.ended, true);
    const t = traces[0]!;
    assert.deepEqual(
      [t.status, t.http_status, t.error_code, t.finish_reason],
      ["error", 200, "provider_error", "error"],
    );
    assert.equal(t.attempts[0]!.outcome, "error");
    assert.ok(t.completion_tokens > 0, "tokens streamed before the cut are still counted");
  });

  test("a client that disconnects aborts the upstream call", async () => {
    const a = new StreamProvider("a");
    a.scripts.push({ gapMs: 50 });
    const { gateway, traces } = setup(model(), [a, new StreamProvider("b")]);
    const client = new AbortController();
    const session = await gateway.streamChat(hello("m", { stream: true }), meta(client.signal));
    const piping = session.pipeTo(new MemorySink());
    await sleep(10);
    client.abort();
    await piping;
    assert.equal(a.signals[0]!.aborted, true);
    assert.equal(traces[0]!.error_code, "client_closed");
    assert.equal(traces[0]!.attempts[0]!.outcome, "aborted");
  });

  test("abortAll ends open streams with a shutting_down error event and still records them", async () => {
    const a = new StreamProvider("a");
    a.scripts.push({ gapMs: 1_000 });
    const { gateway, traces } = setup(model(), [a, new StreamProvider("b")]);
    const sink = new MemorySink();
    const piping = (await gateway.streamChat(hello("m", { stream: true }), meta())).pipeTo(sink);
    await sleep(5);
    gateway.abortAll();
    await piping;
    assert.equal((sink.events.at(-2)!.error as { code: string }).code, "shutting_down");
    assert.equal(sink.ended, true);
    assert.equal(traces[0]!.error_code, "shutting_down");
    await assert.rejects(gateway.chat(hello("m"), meta()), { code: "shutting_down" });
  });
});
