import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTinyModel } from "../src/optimize/index.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";
import { storiesModelPath, tinyModelPath } from "./fixtures/tiny-model.ts";

/**
 * Keel's default local models through the HTTP API and the official OpenAI SDK: every answer
 * is a real llama.cpp inference on the generated keel-tiny model.
 */
const user = (content: string) => [{ role: "user" as const, content }];

/** The official SDK pointed at a running Keel, with its retries off. */
function clientFor(keel: RunningKeel): OpenAI {
  return new OpenAI({ baseURL: `${keel.url}/v1`, apiKey: keel.apiKey, maxRetries: 0 });
}

describe("default local models over HTTP", () => {
  let keel: RunningKeel;
  let client: OpenAI;

  before(async () => {
    keel = await startKeel({}); // no config: keel-local and keel-local-embed from keel-tiny
    client = clientFor(keel);
  });
  after(() => keel.close());

  test("chat answers with gibberish, exact usage and the public model name", async () => {
    const res = await client.chat.completions.create({
      model: "keel-local",
      messages: user("Say hello"),
      max_tokens: 10,
      temperature: 0,
    });
    assert.equal(res.model, "keel-local");
    assert.ok((res.choices[0]!.message.content ?? "").length > 0);
    assert.equal(res.choices[0]!.finish_reason, "length");
    assert.equal(res.usage?.completion_tokens, 10);
    assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + 10);
  });

  test("streams token by token and ends with usage when asked", async () => {
    const whole = await client.chat.completions.create({
      model: "keel-local",
      messages: user("Tell me more"),
      max_tokens: 16,
      temperature: 0,
    });
    const stream = await client.chat.completions.create({
      model: "keel-local",
      messages: user("Tell me more"),
      max_tokens: 16,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(deltas.length >= 10, `one delta per token, got ${deltas.length}`);
    assert.equal(deltas.join(""), whole.choices[0]!.message.content);
    assert.equal(finish, "length");
    assert.equal(usage?.completion_tokens, 16);
  });

  test("returns logprobs with top_logprobs", async () => {
    const res = await client.chat.completions.create({
      model: "keel-local",
      messages: user("hi"),
      max_tokens: 6,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = res.choices[0]!.logprobs!.content!;
    assert.equal(content.length, 6);
    for (const entry of content) {
      assert.ok(entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 2);
      assert.equal(entry.top_logprobs[0]!.token, entry.token);
    }
  });

  test("is deterministic at temperature 0 and with a seed", async () => {
    const ask = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) =>
      client.chat.completions
        .create({ model: "keel-local", messages: user("same question"), max_tokens: 20, ...extra })
        .then((r) => r.choices[0]!.message.content);
    assert.equal(await ask({ temperature: 0 }), await ask({ temperature: 0 }));
    assert.equal(await ask({ temperature: 1, seed: 42 }), await ask({ temperature: 1, seed: 42 }));
  });

  test("completions answer a raw prompt", async () => {
    const res = await client.completions.create({
      model: "keel-local",
      prompt: "the story of",
      max_tokens: 5,
      temperature: 0,
    });
    assert.ok(res.choices[0]!.text.length > 0);
    assert.equal(res.usage?.completion_tokens, 5);
  });

  test("embeddings come from keel-local-embed as unit vectors", async () => {
    const res = await client.embeddings.create({
      model: "keel-local-embed",
      input: ["the quick brown fox", "a slow green turtle"],
    });
    assert.equal(res.data.length, 2);
    const [a, b] = res.data.map((d) => d.embedding);
    assert.equal(a!.length, 64);
    assert.ok(Math.abs(Math.hypot(...a!) - 1) < 1e-5);
    assert.notDeepEqual(a, b);
    assert.ok(res.usage.prompt_tokens > 0);
  });

  test("bad input is a 400 with a message, and the model keeps answering", async () => {
    const bad: [Promise<unknown>, RegExp][] = [
      [client.chat.completions.create({ model: "keel-local", messages: [] }), /message/],
      [
        client.chat.completions.create({
          model: "keel-local",
          messages: user("hi"),
          max_tokens: 10_000_000,
        }),
        /max_tokens/,
      ],
      [
        client.chat.completions.create({
          model: "keel-local",
          messages: user("word ".repeat(4000)),
          max_tokens: 5,
        }),
        /context|prompt/,
      ],
    ];
    for (const [promise, message] of bad) {
      const err = await promise.then(
        () => assert.fail("expected an error"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.equal(err.status, 400);
      assert.match(err.message, message);
    }
    const res = await client.chat.completions.create({
      model: "keel-local",
      messages: user("still there?"),
      max_tokens: 4,
      temperature: 0,
    });
    assert.equal(res.usage?.completion_tokens, 4);
  });
});

describe("a busy local model over HTTP", () => {
  let keel: RunningKeel;
  let client: OpenAI;

  before(async () => {
    const modelPath = await tinyModelPath();
    const models = (queue: number) => ({
      type: "local",
      model_path: modelPath,
      context_size: 1024,
      parallel: 1,
      queue_limit: queue,
      embeddings: false,
    });
    const chat = (name: string, provider: string) => ({
      name,
      retry: { max_attempts: 1 },
      deployments: [{ provider, model: "keel-tiny" }],
    });
    keel = await startKeel({
      providers: { queued: models(1), single: models(0) },
      models: [chat("queued", "queued"), chat("single", "single")],
    });
    client = clientFor(keel);
  });
  after(() => keel.close());

  test("queues requests beyond parallel, then answers 429 past queue_limit", async () => {
    const ask = () =>
      client.chat.completions.create({
        model: "queued",
        messages: user("wait your turn"),
        max_tokens: 300,
        temperature: 0,
      });
    const results = await Promise.allSettled([ask(), ask(), ask()]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    assert.equal(ok.length, 2, "one running, one queued");
    assert.equal(refused.length, 1);
    assert.ok(refused[0] instanceof OpenAI.APIError);
    assert.equal(refused[0].status, 429);
    assert.match(refused[0].message, /busy|queue/);
  });

  test("a client that disconnects mid-stream stops generation and frees the model", async () => {
    const forever = { model: "single", messages: user("go on forever"), temperature: 0 };
    // How long the whole answer takes here: generation runs to the end of the context.
    let started = performance.now();
    const full = await client.chat.completions.create(forever);
    const fullMs = performance.now() - started;
    assert.ok((full.usage?.completion_tokens ?? 0) > 900, "it ran to the end of the context");

    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { ...forever, stream: true },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _ of stream) {
        if (++chunks === 3) {
          controller.abort();
          break;
        }
      }
    } catch (err) {
      assert.ok(err instanceof OpenAI.APIUserAbortError, String(err));
    }
    assert.equal(chunks, 3);
    // With parallel 1 and queue_limit 0 every request is refused while generation runs on:
    // the model must be free again well before the abandoned answer could have finished.
    started = performance.now();
    let answered = false;
    while (!answered && performance.now() - started < fullMs / 2) {
      answered = await client.chat.completions
        .create({ model: "single", messages: user("hello"), max_tokens: 2, temperature: 0 })
        .then(
          () => true,
          async (err: unknown) => {
            assert.ok(err instanceof OpenAI.APIError && err.status === 429, String(err));
            await new Promise((resolve) => setTimeout(resolve, 10));
            return false;
          },
        );
    }
    assert.ok(
      answered,
      `the model was still busy ${Math.round(fullMs / 2)} ms after the client left`,
    );
  });
});

describe("local models chosen by environment", () => {
  test("KEEL_LOCAL_MODEL and KEEL_LOCAL_EMBED_MODEL pick the files served", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-env-models-"));
    const embedPath = join(dir, "embed.gguf");
    await makeTinyModel(embedPath, { seed: 2 });
    const chatPath = storiesModelPath() ?? (await tinyModelPath());
    const env = { KEEL_LOCAL_MODEL: chatPath, KEEL_LOCAL_EMBED_MODEL: embedPath };
    const [custom, plain] = [await startKeel({}, { env }), await startKeel({})];
    try {
      const embedding = async (keel: RunningKeel) => {
        const res = await clientFor(keel).embeddings.create({
          model: "keel-local-embed",
          input: "same text",
        });
        return res.data[0]!.embedding;
      };
      assert.notDeepEqual(
        await embedding(custom),
        await embedding(plain),
        "another file, other weights",
      );
      const res = await clientFor(custom).completions.create({
        model: "keel-local",
        prompt: "Once upon a time",
        max_tokens: 8,
        temperature: 0,
      });
      if (storiesModelPath() !== undefined) assert.match(res.choices[0]!.text, /there was/);
      else assert.ok(res.choices[0]!.text.length > 0);
    } finally {
      await custom.close();
      await plain.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
