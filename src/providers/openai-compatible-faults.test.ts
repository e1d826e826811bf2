import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fixtures/fake-openai.ts";
import {
  assertNoKey,
  configFor,
  ctx,
  eventually,
  hello,
  KEY,
} from "../../test/fixtures/openai-compatible-settings.ts";
import { closedPort } from "../../test/helpers/closed-port.ts";
import { call as live, drain, failure } from "../../test/helpers/provider-calls.ts";
import { createOpenAICompatibleProvider } from "./openai-compatible.ts";
import type { Provider } from "./provider.ts";

/** The openai-compatible provider when the upstream fails, hangs, cuts or ends streams oddly. */
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
      const streamed = await failure(drain(provider.stream(hello, live())));
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
      () => drain(provider.stream(hello, live())),
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
      () => drain(provider.stream(hello, live())),
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
    const err = await failure(drain(provider.stream(hello, { signal: AbortSignal.timeout(100) })));
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
    const err = await failure(drain(provider.stream(hello, live())));
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
    assert.match(err.message, /truncated/);
  });

  test("an engine that sends a finish_reason but no [DONE] still completes", async () => {
    body = chunk({ content: "whole" }) + chunk({}, "stop");
    const chunks = await drain(provider.stream(hello, live()));
    assert.equal(chunks.length, 2);
  });

  test("an error event inside a 200 stream becomes a retryable provider_error", async () => {
    body =
      chunk({ content: "a" }) +
      `data: ${JSON.stringify({ error: { message: "engine crashed" } })}\n\n`;
    const err = await failure(drain(provider.stream(hello, live())));
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
    assert.match(err.message, /engine crashed/);
  });

  test("a chunk that is not JSON is a malformed answer", async () => {
    body = "data: {not json\n\n";
    const err = await failure(drain(provider.stream(hello, live())));
    assert.equal(err.code, "provider_error");
    assert.match(err.message, /malformed/);
  });
});
