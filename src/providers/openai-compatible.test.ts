import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fixtures/fake-openai.ts";
import { configFor, ctx, hello, KEY } from "../../test/fixtures/openai-compatible-settings.ts";
import { closedPort } from "../../test/helpers/closed-port.ts";
import { call as live, drain, failure } from "../../test/helpers/provider-calls.ts";
import { KeelError } from "../core/errors.ts";
import { createOpenAICompatibleProvider } from "./openai-compatible.ts";
import type { Provider } from "./provider.ts";
import type { ChatRequest } from "./schema.ts";

describe("openai-compatible provider over HTTP", () => {
  let fake: FakeOpenAI;
  let provider: Provider;

  before(async () => {
    fake = await startFakeOpenAI({ name: "up" });
    provider = createOpenAICompatibleProvider(
      "up",
      configFor(fake.url, { headers: { "X-Team": "keel" } }),
      ctx,
    );
  });
  after(async () => {
    await provider.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  test("chat returns the upstream answer, with bearer auth and the configured headers", async () => {
    const answer = await provider.chat(hello, live());
    assert.equal(answer.choices[0]!.message.content, "Hello from up");
    assert.equal(answer.model, "gpt-test");
    assert.deepEqual(answer.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const sent = fake.requests[0]!;
    assert.equal(sent.path, "/v1/chat/completions");
    assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent.headers["x-team"], "keel");
    assert.equal(sent.body.stream, false);
  });

  test("unknown and provider-specific fields reach the upstream untouched", async () => {
    const req = {
      model: "m",
      messages: [
        {
          role: "user",
          content: [{ type: "text", text: "cached", cache_control: { type: "ephemeral" } }],
          vendor_note: "kept",
        },
      ],
      top_k: 40,
      chat_template_kwargs: { enable_thinking: false },
    } as ChatRequest;
    await provider.chat(req, live());
    const body = fake.requests[0]!.body;
    assert.deepEqual(body.messages, req.messages);
    assert.equal(body.top_k, 40);
    assert.deepEqual(body.chat_template_kwargs, { enable_thinking: false });
  });

  test("a non-streaming call drops stream_options, which upstreams refuse without stream", async () => {
    await provider.chat({ ...hello, stream_options: { include_usage: true } }, live());
    assert.equal("stream_options" in fake.requests[0]!.body, false);
  });

  test("stream yields the content chunks and the final usage chunk", async () => {
    const chunks = await drain(provider.stream(hello, live()));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "Hello from up");
    assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, "stop");
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.deepEqual(chunks.at(-1)!.usage, {
      prompt_tokens: 2,
      completion_tokens: 3,
      total_tokens: 5,
    });
    const body = fake.requests[0]!.body;
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
  });

  test("a client's own include_usage choice is kept", async () => {
    const req = { ...hello, stream_options: { include_usage: false } };
    const chunks = await drain(provider.stream(req, live()));
    assert.deepEqual(fake.requests[0]!.body.stream_options, { include_usage: false });
    assert.ok(chunks.every((c) => c.usage == null));
  });

  test("stream_usage: false sends no stream_options", async () => {
    const plain = createOpenAICompatibleProvider(
      "plain",
      configFor(fake.url, { stream_usage: false }),
      ctx,
    );
    try {
      await drain(plain.stream(hello, live()));
      assert.equal("stream_options" in fake.requests[0]!.body, false);
    } finally {
      await plain.close();
    }
  });

  test("nothing is sent upstream before the first next()", async () => {
    const iterator = provider.stream(hello, live())[Symbol.asyncIterator]();
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(fake.requests.length, 0);
    const first = await iterator.next();
    assert.equal(first.done, false);
    assert.equal(fake.requests.length, 1);
    await iterator.return?.();
  });

  test("completion and streamCompletion speak /completions", async () => {
    const req = { model: "m", prompt: "once upon" };
    const answer = await provider.completion!(req, live());
    assert.equal(answer.choices[0]!.text, "Hello from up");
    const chunks = await drain(provider.streamCompletion!(req, live()));
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? "").join(""), "Hello from up");
    assert.equal(chunks.at(-1)!.usage?.completion_tokens, 3);
    assert.equal(fake.requests[1]!.path, "/v1/completions");
  });

  test("embed returns deterministic vectors", async () => {
    const a = await provider.embed!({ model: "e", input: ["alpha", "beta"] }, live());
    const b = await provider.embed!({ model: "e", input: "alpha" }, live());
    assert.equal(a.data.length, 2);
    assert.equal((a.data[0]!.embedding as number[]).length, 8);
    assert.deepEqual(a.data[0]!.embedding, b.data[0]!.embedding);
    assert.notDeepEqual(a.data[0]!.embedding, a.data[1]!.embedding);
  });

  test("health is ok when GET /models answers, and false (not a throw) when it cannot", async () => {
    assert.deepEqual(await provider.health(), { ok: true });
    assert.equal(fake.requests[0]!.path, "/v1/models");
    const down = createOpenAICompatibleProvider(
      "down",
      configFor(`http://127.0.0.1:${await closedPort()}/v1`),
      ctx,
    );
    try {
      const health = await down.health();
      assert.equal(health.ok, false);
      assert.match(health.detail ?? "", /ECONNREFUSED/);
    } finally {
      await down.close();
    }
  });
});

describe("openai-compatible presets", () => {
  test("a provider with neither base_url nor a preset default is a config error naming the field", () => {
    assert.throws(
      () => createOpenAICompatibleProvider("mine", configFor(undefined), ctx),
      (err: unknown) =>
        err instanceof KeelError &&
        err.code === "config_invalid" &&
        err.param === "providers.mine.base_url" &&
        err.message.includes("providers.mine.base_url"),
    );
  });

  test("presets fill the default URL and capabilities; an explicit base_url wins", async () => {
    const ollama = createOpenAICompatibleProvider(
      "o",
      configFor(undefined, { preset: "ollama" }),
      ctx,
    );
    assert.equal(ollama.capabilities.logprobs, false);
    await ollama.close();

    const fake = await startFakeOpenAI({ name: "tgi" });
    const tgi = createOpenAICompatibleProvider("t", configFor(fake.url, { preset: "tgi" }), ctx);
    try {
      assert.equal(tgi.capabilities.embeddings, false);
      const answer = await tgi.chat(hello, live());
      assert.equal(answer.choices[0]!.message.content, "Hello from tgi");
      const err = await failure(tgi.embed!({ model: "e", input: "x" }, live()));
      assert.equal(err.code, "unsupported");
    } finally {
      await tgi.close();
      await fake.close();
    }
  });
});
