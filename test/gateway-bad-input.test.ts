import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/**
 * Bad input on every /v1 endpoint: each is a 4xx in the OpenAI error shape with a message that
 * says what to fix, never a 500, and the server keeps serving.
 */
describe("gateway bad input", () => {
  let fake: FakeOpenAI;
  let keel: RunningKeel;

  before(async () => {
    fake = await startFakeOpenAI({ name: "up" });
    keel = await startKeel({
      server: { body_limit_bytes: 4_096 },
      providers: { up: { type: "openai-compatible", base_url: fake.url } },
      models: [
        { name: "chat", deployments: [{ provider: "up", model: "x" }] },
        { name: "embed", kind: "embedding", deployments: [{ provider: "up", model: "e" }] },
      ],
    });
  });

  after(async () => {
    await keel.close();
    await fake.close();
  });

  interface ErrorBody {
    error: { message: string; type: string; code: string; param: string | null };
  }

  async function send(path: string, body: string, contentType = "application/json") {
    const res = await fetch(`${keel.url}${path}`, {
      method: "POST",
      headers: { ...keel.headers, "content-type": contentType },
      body,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: JSON.parse(text) as ErrorBody,
      traceId: res.headers.get("x-keel-trace-id"),
    };
  }

  const messages = [{ role: "user", content: "hi" }];
  const cases: {
    name: string;
    path: string;
    body: unknown;
    status: number;
    code: string;
    param?: string;
    message: RegExp;
  }[] = [
    {
      name: "chat without messages",
      path: "/v1/chat/completions",
      body: { model: "chat" },
      status: 400,
      code: "invalid_request",
      param: "messages",
      message: /messages/,
    },
    {
      name: "chat without a model",
      path: "/v1/chat/completions",
      body: { messages },
      status: 400,
      code: "invalid_request",
      param: "model",
      message: /model/,
    },
    {
      name: "chat with messages of the wrong type",
      path: "/v1/chat/completions",
      body: { model: "chat", messages: "hi" },
      status: 400,
      code: "invalid_request",
      param: "messages",
      message: /messages/,
    },
    {
      name: "chat with an unknown role",
      path: "/v1/chat/completions",
      body: { model: "chat", messages: [{ role: "robot", content: "x" }] },
      status: 400,
      code: "invalid_request",
      param: "messages.0.role",
      message: /messages\.0\.role/,
    },
    {
      name: "chat with temperature out of range",
      path: "/v1/chat/completions",
      body: { model: "chat", messages, temperature: 7 },
      status: 400,
      code: "invalid_request",
      param: "temperature",
      message: /temperature/,
    },
    {
      name: "chat with a string max_tokens",
      path: "/v1/chat/completions",
      body: { model: "chat", messages, max_tokens: "ten" },
      status: 400,
      code: "invalid_request",
      param: "max_tokens",
      message: /max_tokens/,
    },
    {
      name: "chat for an unknown model",
      path: "/v1/chat/completions",
      body: { model: "nope", messages },
      status: 404,
      code: "model_not_found",
      param: "model",
      message: /"nope".*chat/,
    },
    {
      name: "a JSON array body",
      path: "/v1/chat/completions",
      body: [1, 2],
      status: 400,
      code: "invalid_request",
      message: /object/,
    },
    {
      name: "completions without a prompt",
      path: "/v1/completions",
      body: { model: "chat" },
      status: 400,
      code: "invalid_request",
      param: "prompt",
      message: /prompt/,
    },
    {
      name: "completions with a numeric prompt",
      path: "/v1/completions",
      body: { model: "chat", prompt: 5 },
      status: 400,
      code: "invalid_request",
      param: "prompt",
      message: /prompt/,
    },
    {
      name: "completions for an embedding model",
      path: "/v1/completions",
      body: { model: "embed", prompt: "x" },
      status: 400,
      code: "invalid_request",
      param: "model",
      message: /embedding model/,
    },
    {
      name: "embeddings with an object input",
      path: "/v1/embeddings",
      body: { model: "embed", input: { a: 1 } },
      status: 400,
      code: "invalid_request",
      param: "input",
      message: /input/,
    },
    {
      name: "embeddings without input",
      path: "/v1/embeddings",
      body: { model: "embed" },
      status: 400,
      code: "invalid_request",
      param: "input",
      message: /input/,
    },
    {
      name: "embeddings for a chat model",
      path: "/v1/embeddings",
      body: { model: "chat", input: "x" },
      status: 400,
      code: "invalid_request",
      param: "model",
      message: /chat model/,
    },
    {
      name: "embeddings for an unknown model",
      path: "/v1/embeddings",
      body: { model: "nope", input: "x" },
      status: 404,
      code: "model_not_found",
      message: /embed/,
    },
  ];

  for (const c of cases) {
    test(`${c.name} is a ${c.status} naming the problem`, async () => {
      const { status, body } = await send(c.path, JSON.stringify(c.body));
      assert.equal(status, c.status);
      assert.equal(body.error.code, c.code);
      if (c.param !== undefined) assert.equal(body.error.param, c.param);
      assert.match(body.error.message, c.message);
    });
  }

  for (const path of ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]) {
    test(`malformed JSON on ${path} is a 400 invalid_json`, async () => {
      const { status, body } = await send(path, '{"model": "chat", "messages": [');
      assert.equal(status, 400);
      assert.equal(body.error.code, "invalid_json");
      assert.match(body.error.message, /not valid JSON/);
    });

    test(`an oversized body on ${path} is a 413 naming the limit`, async () => {
      const big = JSON.stringify({
        model: "chat",
        messages: [{ role: "user", content: "x".repeat(8_000) }],
      });
      const { status, body } = await send(path, big);
      assert.equal(status, 413);
      assert.equal(body.error.code, "body_too_large");
      assert.match(body.error.message, /body_limit_bytes/);
    });
  }

  test("a non-JSON content type is a 4xx", async () => {
    const { status } = await send(
      "/v1/chat/completions",
      "model=chat",
      "application/x-www-form-urlencoded",
    );
    assert.equal(status, 415);
  });

  test("an unknown model id on GET /v1/models/{id} is a 404", async () => {
    const res = await fetch(`${keel.url}/v1/models/nope`, { headers: keel.headers });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as ErrorBody).error.code, "model_not_found");
  });

  test("an invalid body for a configured model is traced with its 400", async () => {
    const { status, traceId } = await send(
      "/v1/chat/completions",
      JSON.stringify({ model: "chat", messages: [] }),
    );
    assert.equal(status, 400);
    assert.match(traceId ?? "", /^trc_/);
    await keel.keel.traces.flush();
    const row = await keel.keel.database.db
      .selectFrom("traces")
      .selectAll()
      .where("id", "=", traceId!)
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      [row.status, row.http_status, row.error_code],
      ["error", 400, "invalid_request"],
    );
  });

  test("the server keeps serving after all of that", async () => {
    const res = await fetch(`${keel.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...keel.headers, "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages }),
    });
    assert.equal(res.status, 200);
  });
});
