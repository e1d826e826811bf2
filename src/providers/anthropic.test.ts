import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { startFakeAnthropic, type FakeAnthropic } from "../../test/fixtures/fake-anthropic.ts";
import { call as live, drain, failure } from "../../test/helpers/provider-calls.ts";
import type { AnthropicProviderConfig } from "../core/config-schema.ts";
import { createLogger } from "../core/logger.ts";
import { Secret } from "../core/secret.ts";
import { createAnthropicProvider } from "./anthropic.ts";
import type { Provider } from "./provider.ts";
import type { ChatRequest } from "./schema.ts";

interface ToolCallDelta {
  function: { name?: string; arguments?: string };
}

const KEY = "sk-ant-test-0123456789";
const ctx = { dataDir: "/tmp", logger: createLogger("silent"), apiKey: new Secret(KEY) };
const hello: ChatRequest = {
  model: "claude-test",
  messages: [
    { role: "system", content: "Be kind." },
    { role: "user", content: "hi there" },
  ],
};

describe("anthropic provider over HTTP", () => {
  let fake: FakeAnthropic;
  let provider: Provider;

  before(async () => {
    fake = await startFakeAnthropic({ name: "claude" });
    const config: AnthropicProviderConfig = {
      type: "anthropic",
      base_url: fake.url,
      api_key_env: "ANTHROPIC_API_KEY",
      version: "2023-06-01",
      headers: { "anthropic-beta": "prompt-caching-2024-07-31" },
      max_connections: 8,
    };
    provider = createAnthropicProvider("claude", config, ctx);
  });
  after(async () => {
    await provider.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  test("says it serves chat only", () => {
    assert.equal(provider.capabilities.chat, true);
    assert.equal(provider.capabilities.completions, false);
    assert.equal(provider.capabilities.embeddings, false);
    assert.equal("completion" in provider, false);
    assert.equal("embed" in provider, false);
  });

  test("chat posts a Messages request with Anthropic's headers and returns an OpenAI answer", async () => {
    const answer = await provider.chat(hello, live());
    assert.equal(answer.object, "chat.completion");
    assert.equal(answer.choices[0]!.message.content, "Hello from claude");
    assert.equal(answer.choices[0]!.finish_reason, "stop");
    assert.deepEqual(answer.usage, { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    const sent = fake.requests[0]!;
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.headers["x-api-key"], KEY);
    assert.equal(sent.headers["anthropic-version"], "2023-06-01");
    assert.equal(sent.headers["anthropic-beta"], "prompt-caching-2024-07-31");
    assert.equal(sent.headers.authorization, undefined);
    assert.equal(sent.body.system, "Be kind.");
    assert.equal(sent.body.max_tokens, 4096);
  });

  test("cache_control and Anthropic-only fields reach the upstream untouched", async () => {
    const cache = { type: "ephemeral" };
    const req = {
      model: "claude-test",
      messages: [{ role: "user", content: [{ type: "text", text: "doc", cache_control: cache }] }],
      top_k: 3,
    } as ChatRequest;
    await provider.chat(req, live());
    const body = fake.requests[0]!.body;
    assert.deepEqual(body.messages, [
      { role: "user", content: [{ type: "text", text: "doc", cache_control: cache }] },
    ]);
    assert.equal(body.top_k, 3);
  });

  test("stop sequences and max_tokens come back as stop and length", async () => {
    fake.configure({ reply: "one two three four five" });
    const stopped = await provider.chat({ ...hello, stop: ["three"] }, live());
    assert.equal(stopped.choices[0]!.message.content, "one two");
    assert.equal(stopped.choices[0]!.finish_reason, "stop");
    assert.deepEqual(fake.requests[0]!.body.stop_sequences, ["three"]);
    const cut = await provider.chat({ ...hello, max_tokens: 2 }, live());
    assert.equal(cut.choices[0]!.finish_reason, "length");
  });

  test("a forced tool comes back as tool_calls", async () => {
    const tools = [
      { type: "function", function: { name: "echo", parameters: { type: "object" } } },
    ];
    const answer = await provider.chat({ ...hello, tools, tool_choice: "required" }, live());
    const choice = answer.choices[0]!;
    assert.equal(choice.finish_reason, "tool_calls");
    const call = choice.message.tool_calls![0] as { function: { name: string; arguments: string } };
    assert.equal(call.function.name, "echo");
    assert.deepEqual(JSON.parse(call.function.arguments), { text: "Hello from claude" });
  });

  test("stream translates the event stream into OpenAI chunks ending with usage", async () => {
    const chunks = await drain(provider.stream(hello, live()));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "Hello from claude");
    assert.equal(chunks[0]!.choices[0]!.delta.role, "assistant");
    assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, "stop");
    assert.deepEqual(chunks.at(-1)!.usage, {
      prompt_tokens: 4,
      completion_tokens: 3,
      total_tokens: 7,
    });
    assert.equal(fake.requests[0]!.body.stream, true);
  });

  test("a streamed tool call arrives as tool_calls deltas", async () => {
    const tools = [
      { type: "function", function: { name: "echo", parameters: { type: "object" } } },
    ];
    const chunks = await drain(
      provider.stream({ ...hello, tools, tool_choice: "required" }, live()),
    );
    const calls = chunks.flatMap(
      (c) => (c.choices[0]?.delta.tool_calls ?? []) as unknown as ToolCallDelta[],
    );
    assert.equal(calls[0]!.function.name, "echo");
    const args = calls.map((c) => c.function.arguments ?? "").join("");
    assert.deepEqual(JSON.parse(args), { text: "Hello from claude" });
    assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, "tool_calls");
  });

  test("upstream statuses map to KeelErrors without leaking the key", async () => {
    fake.queueFaults(
      { kind: "status", status: 529 },
      { kind: "status", status: 429, retryAfter: "4" },
      {
        kind: "status",
        status: 401,
        body: {
          type: "error",
          error: { type: "authentication_error", message: `invalid x-api-key ${KEY}` },
        },
      },
    );
    const overloaded = await failure(drain(provider.stream(hello, live())));
    assert.equal(overloaded.code, "provider_error");
    assert.equal(overloaded.retryable, true);
    const limited = await failure(provider.chat(hello, live()));
    assert.equal(limited.code, "rate_limited");
    assert.equal(limited.retryAfterMs, 4000);
    const denied = await failure(provider.chat(hello, live()));
    assert.equal(denied.retryable, false);
    assert.match(denied.message, /rejected Keel's credentials/);
    assert.ok(!inspect(denied).includes(KEY));
  });

  test("a stream cut before message_stop fails as truncated", async () => {
    fake.configure({ reply: "one two three four" });
    fake.queueFaults({ kind: "cut-stream", afterChunks: 2 });
    const err = await failure(drain(provider.stream(hello, live())));
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
    assert.match(err.message, /truncated/);
  });

  test("malformed answers and events are retryable provider errors", async () => {
    fake.setFault({ kind: "malformed" });
    for (const call of [
      () => provider.chat(hello, live()),
      () => drain(provider.stream(hello, live())),
    ]) {
      const err = await failure(call());
      assert.equal(err.code, "provider_error");
      assert.equal(err.status, 502);
      assert.equal(err.retryable, true);
    }
  });

  test("a timeout is a retryable provider_timeout", async () => {
    fake.queueFaults({ kind: "hang", ms: 5_000 });
    const err = await failure(provider.chat(hello, { signal: AbortSignal.timeout(100) }));
    assert.equal(err.code, "provider_timeout");
    assert.equal(err.retryable, true);
  });

  test("a request Anthropic cannot honour fails before anything is sent", async () => {
    const err = await failure(provider.chat({ ...hello, n: 3 }, live()));
    assert.equal(err.code, "unsupported");
    assert.equal(fake.requests.length, 0);
  });

  test("health checks GET /v1/models", async () => {
    assert.deepEqual(await provider.health(), { ok: true });
    assert.equal(fake.requests[0]!.path, "/v1/models");
  });
});
