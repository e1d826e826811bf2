import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { inspect } from "node:util";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fixtures/fake-openai.ts";
import type { OpenAICompatibleProviderConfig } from "../core/config-schema.ts";
import { KeelError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import { Secret } from "../core/secret.ts";
import { createOpenAICompatibleProvider } from "./openai-compatible.ts";
import type { Provider } from "./provider.ts";
import type { ChatRequest } from "./schema.ts";

const KEY = "sk-keel-test-0123456789";
const ctx = { dataDir: "/tmp", logger: createLogger("silent"), apiKey: new Secret(KEY) };
const live = () => ({ signal: new AbortController().signal });
const hello: ChatRequest = { model: "gpt-test", messages: [{ role: "user", content: "hi there" }] };

function configFor(
  baseUrl: string | undefined,
  extra: Partial<OpenAICompatibleProviderConfig> = {},
): OpenAICompatibleProviderConfig {
  return {
    type: "openai-compatible",
    ...(baseUrl === undefined ? {} : { base_url: baseUrl }),
    headers: {},
    stream_usage: true,
    max_connections: 8,
    ...extra,
  };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<KeelError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KeelError, `expected a KeelError, got ${inspect(err)}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

function assertNoKey(err: KeelError): void {
  for (const text of [err.message, JSON.stringify(err), inspect(err, { depth: 5 })]) {
    assert.ok(!text.includes(KEY), `the API key leaked into: ${text}`);
  }
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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
    const chunks = await collect(provider.stream(hello, live()));
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
    const chunks = await collect(provider.stream(req, live()));
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
      await collect(plain.stream(hello, live()));
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
    const chunks = await collect(provider.streamCompletion!(req, live()));
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

describe("openai-compatible provider: upstream faults", () => {
  let fake: FakeOpenAI;
  let provider: Provider;

  before(async () => {
    fake = await startFakeOpenAI({ name: "faulty" });
    provider = createOpenAICompatibleProvider("faulty", configFor(fake.url), ctx);
  });
  after(async () => {
    await provider.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const statusCases: { status: number; code: string; retryable: boolean; message?: RegExp }[] = [
    { status: 500, code: "provider_error", retryable: true },
    { status: 503, code: "provider_error", retryable: true },
    { status: 408, code: "provider_timeout", retryable: true },
    {
      status: 401,
      code: "provider_error",
      retryable: false,
      message: /rejected Keel's credentials/,
    },
    {
      status: 403,
      code: "provider_error",
      retryable: false,
      message: /rejected Keel's credentials/,
    },
    { status: 404, code: "provider_error", retryable: false, message: /upstream model not found/ },
  ];
  for (const c of statusCases) {
    test(`HTTP ${c.status} becomes ${c.code}, retryable ${c.retryable}, on chat and stream`, async () => {
      fake.queueFaults({ kind: "status", status: c.status }, { kind: "status", status: c.status });
      const unary = await failure(provider.chat(hello, live()));
      const streamed = await failure(collect(provider.stream(hello, live())));
      for (const err of [unary, streamed]) {
        assert.equal(err.code, c.code);
        assert.equal(err.retryable, c.retryable);
        if (c.code === "provider_error") assert.equal(err.status, c.status);
        if (c.message) assert.match(err.message, c.message);
        assertNoKey(err);
      }
    });
  }

  test("429 is rate_limited with the upstream's Retry-After", async () => {
    fake.queueFaults({ kind: "status", status: 429, retryAfter: "2" });
    const err = await failure(provider.chat(hello, live()));
    assert.equal(err.code, "rate_limited");
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfterMs, 2000);
  });

  test("400 is invalid_request with the upstream's message; a context overflow is its own code", async () => {
    fake.queueFaults(
      { kind: "status", status: 400, body: { error: { message: "top_p must be <= 1" } } },
      {
        kind: "status",
        status: 400,
        body: {
          error: {
            message: "maximum context length is 4096 tokens",
            code: "context_length_exceeded",
          },
        },
      },
    );
    const bad = await failure(provider.chat(hello, live()));
    assert.equal(bad.code, "invalid_request");
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /top_p must be <= 1/);
    const long = await failure(provider.chat(hello, live()));
    assert.equal(long.code, "context_length_exceeded");
  });

  test("the API key never appears in an error, even when the upstream echoes it", async () => {
    fake.queueFaults(
      { kind: "status", status: 400, body: { error: { message: `bad request for key ${KEY}` } } },
      { kind: "status", status: 401, body: { error: { message: `Incorrect API key ${KEY}` } } },
      { kind: "status", status: 502, body: `proxy error for ${KEY}` },
    );
    for (let i = 0; i < 3; i++) assertNoKey(await failure(provider.chat(hello, live())));
  });

  test("a reset connection is a retryable provider_error", async () => {
    fake.queueFaults({ kind: "reset" }, { kind: "reset" });
    for (const call of [
      () => provider.chat(hello, live()),
      () => collect(provider.stream(hello, live())),
    ]) {
      const err = await failure(call());
      assert.equal(err.code, "provider_error");
      assert.equal(err.retryable, true);
      assertNoKey(err);
    }
  });

  test("a refused connection is a retryable provider_error", async () => {
    const port = await closedPort();
    const down = createOpenAICompatibleProvider(
      "down",
      configFor(`http://127.0.0.1:${port}/v1`),
      ctx,
    );
    try {
      const err = await failure(down.chat(hello, live()));
      assert.equal(err.code, "provider_error");
      assert.equal(err.retryable, true);
      assert.match(err.message, /ECONNREFUSED/);
    } finally {
      await down.close();
    }
  });

  test("a malformed answer is a retryable provider_error (502), not a crash", async () => {
    fake.setFault({ kind: "malformed" });
    const calls = [
      () => provider.chat(hello, live()),
      () => collect(provider.stream(hello, live())),
      () => provider.completion!({ model: "m", prompt: "p" }, live()),
      () => provider.embed!({ model: "e", input: "x" }, live()),
    ];
    for (const call of calls) {
      const err = await failure(call());
      assert.equal(err.code, "provider_error");
      assert.equal(err.status, 502);
      assert.equal(err.retryable, true);
      assert.match(err.message, /malformed/);
    }
  });

  test("a stream cut mid-way yields what arrived, then fails as truncated", async () => {
    fake.configure({ reply: "one two three four five" });
    fake.queueFaults({ kind: "cut-stream", afterChunks: 2 });
    const seen: string[] = [];
    const err = await failure(
      (async () => {
        for await (const chunk of provider.stream(hello, live())) {
          seen.push(chunk.choices[0]?.delta.content ?? "");
        }
      })(),
    );
    assert.equal(seen.join(""), "one two");
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
    assert.match(err.message, /truncated/);
  });

  test("a body cut mid-way on a unary call is a retryable provider_error", async () => {
    fake.queueFaults({ kind: "cut-stream", afterChunks: 0 });
    const err = await failure(provider.chat(hello, live()));
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
  });

  test("a timeout abort is a retryable provider_timeout and closes the upstream socket", async () => {
    fake.queueFaults({ kind: "hang", ms: 5_000 });
    const err = await failure(provider.chat(hello, { signal: AbortSignal.timeout(100) }));
    assert.equal(err.code, "provider_timeout");
    assert.equal(err.retryable, true);
    await eventually(() => fake.abortedRequests === 1, "the fake to see the socket close");
  });

  test("aborting mid-stream cancels the upstream call", async () => {
    fake.configure({
      reply: Array.from({ length: 50 }, (_, i) => `w${i}`).join(" "),
      chunkDelayMs: 20,
    });
    const controller = new AbortController();
    let received = 0;
    const err = await failure(
      (async () => {
        for await (const _chunk of provider.stream(hello, { signal: controller.signal })) {
          if (++received === 3) controller.abort();
        }
      })(),
    );
    assert.equal(err.code, "client_closed");
    assert.equal(err.retryable, false);
    assert.ok(received < 10);
    await eventually(() => fake.abortedRequests === 1, "the fake to see the socket close");
  });

  test("a consumer that stops reading closes the upstream stream", async () => {
    fake.configure({
      reply: Array.from({ length: 50 }, (_, i) => `w${i}`).join(" "),
      chunkDelayMs: 20,
    });
    for await (const chunk of provider.stream(hello, live())) {
      if (chunk.choices[0]?.delta.content) break;
    }
    await eventually(() => fake.abortedRequests === 1, "the fake to see the socket close");
  });

  test("close() lets a hung call go after a short grace instead of waiting for it", async () => {
    fake.queueFaults({ kind: "hang", ms: 30_000 });
    const own = createOpenAICompatibleProvider("own", configFor(fake.url), ctx);
    const call = failure(own.chat(hello, live()));
    await eventually(() => fake.requests.length === 1, "the call to reach the fake");
    const started = Date.now();
    await own.close();
    assert.ok(Date.now() - started < 5_000);
    const err = await call;
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
  });

  test("a stream timed out before its first chunk is a retryable provider_timeout", async () => {
    fake.queueFaults({ kind: "hang", ms: 5_000 });
    const err = await failure(
      collect(provider.stream(hello, { signal: AbortSignal.timeout(100) })),
    );
    assert.equal(err.code, "provider_timeout");
    assert.equal(err.retryable, true);
  });
});

describe("openai-compatible provider: how streams end", () => {
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id: "c1",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;
  let body = "";
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(body);
    });
  });
  let provider: Provider;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    provider = createOpenAICompatibleProvider("raw", configFor(`http://127.0.0.1:${port}/v1`), ctx);
  });
  after(async () => {
    await provider.close();
    await new Promise((resolve) => server.close(resolve));
  });

  test("a body that ends cleanly before any finish_reason or [DONE] is truncated", async () => {
    body = chunk({ role: "assistant", content: "" }) + chunk({ content: "half" });
    const err = await failure(collect(provider.stream(hello, live())));
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
    assert.match(err.message, /truncated/);
  });

  test("an engine that sends a finish_reason but no [DONE] still completes", async () => {
    body = chunk({ content: "whole" }) + chunk({}, "stop");
    const chunks = await collect(provider.stream(hello, live()));
    assert.equal(chunks.length, 2);
  });

  test("an error event inside a 200 stream becomes a retryable provider_error", async () => {
    body =
      chunk({ content: "a" }) +
      `data: ${JSON.stringify({ error: { message: "engine crashed" } })}\n\n`;
    const err = await failure(collect(provider.stream(hello, live())));
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
    assert.match(err.message, /engine crashed/);
  });

  test("a chunk that is not JSON is a malformed answer", async () => {
    body = "data: {not json\n\n";
    const err = await failure(collect(provider.stream(hello, live())));
    assert.equal(err.code, "provider_error");
    assert.match(err.message, /malformed/);
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
