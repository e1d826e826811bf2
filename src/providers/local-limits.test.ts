import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  hello,
  localProvider,
  tempDataDir,
  warmTinyProvider,
} from "../../test/fixtures/local-provider.ts";
import { call, failure } from "../../test/helpers/provider-calls.ts";
import {
  storiesModelPath,
  storiesSkipReason,
  tinyModelPath,
} from "../../test/fixtures/tiny-model.ts";
import type { KeelError } from "../core/errors.ts";
import type { Provider } from "./provider.ts";
import type { ChatCompletionChunk } from "./schema.ts";

const dataDir = tempDataDir();

/** The local provider's limits and life cycle: bad input, queueing, cancelling, loading. */
describe("local provider under pressure", () => {
  let local: Provider;
  before(async () => {
    local = await warmTinyProvider(dataDir);
  });
  after(() => local.close());

  test("bad input is a 4xx that says what to fix, and the model stays usable", async () => {
    const cases: [Promise<unknown>, string, RegExp][] = [
      [local.chat(hello({ messages: [] }), call()), "invalid_request", /at least one message/],
      [
        local.chat(hello({ max_tokens: 1_000_000 }), call()),
        "context_length_exceeded",
        /max_tokens/,
      ],
      [
        local.chat(hello({ messages: [{ role: "user", content: "word ".repeat(3000) }] }), call()),
        "context_length_exceeded",
        /shorten the prompt/,
      ],
      [local.chat(hello({ n: 2 }), call()), "unsupported", /n must be 1/],
      [local.chat(hello({ tools: [{ type: "function" }] }), call()), "unsupported", /tools/],
      [
        local.chat(
          hello({ messages: [{ role: "user", content: [{ type: "image_url" }] }] }),
          call(),
        ),
        "unsupported",
        /text only/,
      ],
      [local.chat(hello({ top_logprobs: 2 }), call()), "invalid_request", /requires logprobs/],
      [
        local.embed!({ model: "keel-tiny", input: "" }, call()),
        "invalid_request",
        /must not be empty/,
      ],
      [
        local.embed!({ model: "keel-tiny", input: [[999_999]] }, call()),
        "invalid_request",
        /vocabulary/,
      ],
      [
        local.completion!({ model: "keel-tiny", prompt: "x", echo: true }, call()),
        "unsupported",
        /echo/,
      ],
    ];
    for (const [promise, code, message] of cases) {
      const err = await failure(promise);
      assert.equal(err.code, code, err.message);
      assert.ok(err.status >= 400 && err.status < 500);
      assert.match(err.message, message);
    }
    const res = await local.chat(hello(), call());
    assert.equal(res.usage?.completion_tokens, 12);
  });

  test("requests beyond parallel wait in the queue; past queue_limit they get 429", async () => {
    const long = hello({ max_tokens: 200 });
    const calls = [0, 1, 2, 3].map(() => local.chat(long, call()));
    const results = await Promise.allSettled(calls);
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(ok.length, 3, "2 running + 1 queued");
    assert.equal(refused.length, 1);
    const err = (refused[0] as PromiseRejectedResult).reason as KeelError;
    assert.equal(err.code, "queue_full");
    assert.equal(err.status, 429);
    assert.ok((err.retryAfterMs ?? 0) > 0);
  });

  test("cancelling stops generation promptly and frees the sequence", async () => {
    // Unbounded, these would run to the end of the 2048-token context and then succeed; a
    // client_closed rejection means the generation loop itself stopped.
    const controller = new AbortController();
    const pending = local.chat(hello({ max_tokens: undefined }), { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    const err = await failure(pending);
    assert.equal(err.code, "client_closed");

    const streamAbort = new AbortController();
    const chunks: ChatCompletionChunk[] = [];
    const stream = local.stream(hello({ max_tokens: undefined }), { signal: streamAbort.signal });
    await assert.rejects(async () => {
      for await (const chunk of stream) {
        chunks.push(chunk);
        if (chunks.length === 3) streamAbort.abort();
      }
    }, /cancelled/);
    assert.ok(chunks.length <= 4);
    const after = await Promise.all([local.chat(hello(), call()), local.chat(hello(), call())]);
    assert.equal(after.length, 2);
  });

  test("a consumer that stops reading a stream frees the sequence", async () => {
    for (let i = 0; i < 3; i++) {
      for await (const chunk of local.stream(hello({ max_tokens: undefined }), call())) {
        assert.ok(chunk);
        break;
      }
    }
    const res = await Promise.all([local.chat(hello(), call()), local.chat(hello(), call())]);
    assert.equal(res[1].usage?.completion_tokens, 12);
  });
});

describe("local provider set-up", () => {
  test("without model_path it generates keel-tiny in the data dir on first use", async () => {
    const local = localProvider(dataDir);
    try {
      assert.equal((await local.health()).ok, false);
      const res = await local.chat(hello({ max_tokens: 3 }), call());
      assert.equal(res.usage?.completion_tokens, 3);
      assert.ok(existsSync(join(dataDir, "models", "keel-tiny.gguf")));
      assert.equal((await local.health()).ok, true);
    } finally {
      await local.close();
    }
  });

  test("a missing model file fails the call with a message naming it", async () => {
    const local = localProvider(dataDir, { model_path: join(dataDir, "nope.gguf") });
    const err = await failure(local.chat(hello(), call()));
    assert.equal(err.code, "provider_error");
    assert.match(err.message, /nope\.gguf/);
    const health = await local.health();
    assert.equal(health.ok, false);
    assert.match(health.detail ?? "", /nope\.gguf/);
    await local.close();
  });

  test("a prompt past a small context_size is refused, then smaller ones work", async () => {
    const local = localProvider(dataDir, {
      model_path: await tinyModelPath(),
      context_size: 256,
      parallel: 1,
    });
    try {
      const long = hello({ messages: [{ role: "user", content: "the ".repeat(300) }] });
      assert.equal((await failure(local.chat(long, call()))).code, "context_length_exceeded");
      assert.equal((await local.chat(hello(), call())).usage?.completion_tokens, 12);
    } finally {
      await local.close();
    }
  });

  test(
    "stories260K speaks through the fallback template and scores real text",
    { skip: storiesSkipReason() },
    async () => {
      const local = localProvider(dataDir, { model_path: storiesModelPath() });
      try {
        const res = await local.completion!(
          { model: "stories", prompt: "Once upon a time", max_tokens: 12, temperature: 0 },
          call(),
        );
        assert.match(res.choices[0]!.text, /there was/);
        const chat = await local.chat(hello({ model: "stories", max_tokens: 8 }), call());
        assert.ok((chat.choices[0]!.message.content ?? "").length > 0);
        const likely = await local.score!(
          { model: "s", prompt: "Once upon a time", continuation: " there was a little girl" },
          call(),
        );
        const unlikely = await local.score!(
          { model: "s", prompt: "Once upon a time", continuation: " purple quantum tax audit" },
          call(),
        );
        assert.ok(likely.total_logprob > unlikely.total_logprob + 10);
      } finally {
        await local.close();
      }
    },
  );
});
