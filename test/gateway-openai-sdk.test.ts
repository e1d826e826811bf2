import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/**
 * The gateway through the official OpenAI SDK: what a client written for OpenAI sees when it
 * points its base URL at Keel.
 */
describe("gateway with the OpenAI SDK", () => {
  let fake: FakeOpenAI;
  let keel: RunningKeel;
  let client: OpenAI;

  before(async () => {
    fake = await startFakeOpenAI({ name: "up" });
    keel = await startKeel({
      providers: { up: { type: "openai-compatible", base_url: fake.url } },
      models: [
        {
          name: "chat",
          price: { input_per_mtok: 1, output_per_mtok: 2 },
          deployments: [{ provider: "up", model: "upstream-chat" }],
        },
        { name: "org/llama-3:8b-instruct", deployments: [{ provider: "up", model: "llama3:8b" }] },
        {
          name: "embed",
          kind: "embedding",
          deployments: [{ provider: "up", model: "upstream-embed" }],
        },
      ],
    });
    client = new OpenAI({ baseURL: `${keel.url}/v1`, apiKey: keel.apiKey, maxRetries: 0 });
  });

  after(async () => {
    await keel.close();
    await fake.close();
  });

  beforeEach(() => fake.reset());

  test("answers a chat completion under the public model name, with a trace id header", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "Say hello" }] })
      .withResponse();
    assert.equal(data.choices[0]!.message.content, "Hello from up");
    assert.equal(data.model, "chat");
    assert.equal(fake.requests[0]!.body.model, "upstream-chat");
    assert.match(response.headers.get("x-keel-trace-id") ?? "", /^trc_/);
  });

  test("passes sampling, stop, seed, tools and response_format through unchanged", async () => {
    const tools = [
      { type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } },
    ];
    await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "hi" }],
      temperature: 0.3,
      top_p: 0.9,
      n: 1,
      stop: ["END"],
      seed: 42,
      max_completion_tokens: 20,
      max_tokens: 30,
      response_format: { type: "json_object" },
      tools,
      logprobs: true,
      top_logprobs: 2,
    });
    const body = fake.requests[0]!.body;
    assert.deepEqual(
      [
        body.temperature,
        body.top_p,
        body.n,
        body.stop,
        body.seed,
        body.max_completion_tokens,
        body.max_tokens,
      ],
      [0.3, 0.9, 1, ["END"], 42, 20, 30],
    );
    assert.deepEqual(body.response_format, { type: "json_object" });
    assert.deepEqual(body.tools, tools);
    assert.deepEqual([body.logprobs, body.top_logprobs], [true, 2]);
  });

  test("streams a chat completion chunk by chunk", async () => {
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    let usageChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usageChunks += 1;
      assert.equal(chunk.model, "chat");
    }
    assert.equal(text, "Hello from up");
    assert.equal(finish, "stop");
    assert.equal(usageChunks, 0, "no usage chunk unless the client asks");
    assert.equal(
      fake.requests[0]!.body.stream_options?.include_usage,
      true,
      "Keel asks upstream anyway",
    );
  });

  test("forwards the usage chunk when the client sets include_usage", async () => {
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    assert.deepEqual(usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  test("serves text completions, streamed and not", async () => {
    const plain = await client.completions.create({ model: "chat", prompt: "Once upon" });
    assert.equal(plain.choices[0]!.text, "Hello from up");
    assert.equal(plain.model, "chat");
    const stream = await client.completions.create({
      model: "chat",
      prompt: "Once upon",
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, "Hello from up");
  });

  test("serves embeddings", async () => {
    const res = await client.embeddings.create({
      model: "embed",
      input: ["a b", "c"],
      encoding_format: "float",
    });
    assert.equal(res.data.length, 2);
    assert.equal(res.data[0]!.embedding.length, 8);
    assert.equal(res.model, "embed");
    assert.equal(fake.requests[0]!.body.model, "upstream-embed");
  });

  test("lists and retrieves models, including names with ':' and '/'", async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.deepEqual(ids, ["chat", "org/llama-3:8b-instruct", "embed"]);
    assert.ok(page.data.every((m) => m.object === "model" && m.owned_by === "keel"));
    const one = await client.models.retrieve("org/llama-3:8b-instruct");
    assert.equal(one.id, "org/llama-3:8b-instruct");
    await assert.rejects(client.models.retrieve("nope"), OpenAI.NotFoundError);
  });

  test("routes a model name with ':' and '/' to its deployment", async () => {
    const res = await client.chat.completions.create({
      model: "org/llama-3:8b-instruct",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(res.model, "org/llama-3:8b-instruct");
    assert.equal(fake.requests[0]!.body.model, "llama3:8b");
  });

  test("an unknown model is a NotFoundError naming the available models", async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-nope",
        messages: [{ role: "user", content: "hi" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.NotFoundError);
        assert.equal(err.code, "model_not_found");
        assert.match(err.message, /gpt-nope.*chat, org\/llama-3:8b-instruct/);
        return true;
      },
    );
  });

  test("an embedding model on chat and a chat model on embeddings are BadRequestErrors", async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: "embed",
        messages: [{ role: "user", content: "hi" }],
      }),
      OpenAI.BadRequestError,
    );
    await assert.rejects(
      client.embeddings.create({ model: "chat", input: "hi", encoding_format: "float" }),
      OpenAI.BadRequestError,
    );
  });

  test("an upstream that keeps failing surfaces as an APIError with status 502", async () => {
    fake.setFault({ kind: "status", status: 500 });
    await assert.rejects(
      client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "hi" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.status, 502);
        assert.equal(err.code, "provider_error");
        return true;
      },
    );
  });
});
