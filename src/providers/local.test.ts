import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { hello, tempDataDir, warmTinyProvider } from "../../test/fixtures/local-provider.ts";
import { call, drain } from "../../test/helpers/provider-calls.ts";
import type { Provider } from "./provider.ts";

const dataDir = tempDataDir();

/** What the local provider answers, on the generated keel-tiny model. */
describe("local provider on keel-tiny", () => {
  let local: Provider;
  before(async () => {
    local = await warmTinyProvider(dataDir);
  });
  after(() => local.close());

  test("answers a chat with exact token usage and stops at max_tokens", async () => {
    const res = await local.chat(hello(), call());
    const choice = res.choices[0]!;
    assert.equal(choice.message.role, "assistant");
    assert.ok((choice.message.content ?? "").length > 0);
    assert.equal(choice.finish_reason, "length");
    assert.equal(res.usage?.completion_tokens, 12);
    assert.ok((res.usage?.prompt_tokens ?? 0) > 5);
    assert.equal(res.usage?.total_tokens, res.usage.prompt_tokens + 12);
    assert.equal(res.model, "keel-tiny");
    assert.deepEqual(await local.health(), { ok: true, detail: (await local.health()).detail });
  });

  test("temperature 0 is deterministic, and so is a seed at temperature 1", async () => {
    const a = await local.chat(hello(), call());
    const b = await local.chat(hello(), call());
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
    const seeded = (seed: number) =>
      local.chat(hello({ temperature: 1, seed, max_tokens: 24 }), call());
    const [s1, s2] = [await seeded(7), await seeded(7)];
    assert.equal(s1.choices[0]!.message.content, s2.choices[0]!.message.content);
    const others = await Promise.all([1, 2, 3].map((seed) => seeded(seed)));
    assert.ok(others.some((o) => o.choices[0]!.message.content !== s1.choices[0]!.message.content));
  });

  test("an answer does not depend on what else the model is generating", async () => {
    const alone = await local.chat(hello({ max_tokens: 100 }), call());
    const [together] = await Promise.all([
      local.chat(hello({ max_tokens: 100 }), call()),
      local.chat(
        hello({ max_tokens: 100, messages: [{ role: "user", content: "other" }] }),
        call(),
      ),
    ]);
    assert.equal(together.choices[0]!.message.content, alone.choices[0]!.message.content);
  });

  test("streams token by token; the pieces add up to the whole answer", async () => {
    const whole = await local.chat(hello(), call());
    const chunks = await drain(local.stream(hello(), call()));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, whole.choices[0]!.message.content);
    assert.equal(chunks[0]!.choices[0]!.delta.role, "assistant");
    assert.ok(chunks.length >= 12, "one chunk per token, at least");
    const finish = chunks.at(-2)!.choices[0]!;
    assert.equal(finish.finish_reason, "length");
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.equal(chunks.at(-1)!.usage?.completion_tokens, 12);
  });

  test("a stop sequence ends the answer before it", async () => {
    const full = (await local.chat(hello({ max_tokens: 30 }), call())).choices[0]!.message.content!;
    const words = full.split(" ").filter((w) => w.length > 2);
    const stop = words[Math.floor(words.length / 2)]!;
    const res = await local.chat(hello({ max_tokens: 30, stop: [stop, "\u0000never"] }), call());
    assert.equal(res.choices[0]!.finish_reason, "stop");
    assert.equal(res.choices[0]!.message.content, full.slice(0, full.indexOf(stop)));
  });

  test("reports token logprobs and top_logprobs in the OpenAI shape", async () => {
    const res = await local.chat(hello({ logprobs: true, top_logprobs: 3 }), call());
    const plain = await local.chat(hello(), call());
    assert.equal(res.choices[0]!.message.content, plain.choices[0]!.message.content);
    const content = res.choices[0]!.logprobs!.content!;
    assert.equal(content.length, 12);
    assert.equal(
      content
        .map((c) => c.token)
        .join("")
        .trimStart(),
      res.choices[0]!.message.content,
    );
    for (const entry of content) {
      assert.ok(entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 3);
      assert.equal(entry.top_logprobs[0]!.token, entry.token, "greedy picks the top token");
      assert.ok(Math.abs(entry.top_logprobs[0]!.logprob - entry.logprob) < 1e-6);
      const mass = entry.top_logprobs.reduce((p, t) => p + Math.exp(t.logprob), 0);
      assert.ok(mass <= 1 + 1e-6);
      assert.deepEqual(entry.bytes, [...Buffer.from(entry.token)]);
    }
  });

  test("logprobs at temperature 1 with a seed are reproducible", async () => {
    const req = hello({ temperature: 1, seed: 11, logprobs: true, max_tokens: 16 });
    const [a, b] = [await local.chat(req, call()), await local.chat(req, call())];
    assert.deepEqual(a.choices[0]!.logprobs, b.choices[0]!.logprobs);
  });

  test("completions answer each prompt of a list, with legacy logprobs", async () => {
    const res = await local.completion!(
      {
        model: "keel-tiny",
        prompt: ["the story", "a b c"],
        max_tokens: 5,
        temperature: 0,
        logprobs: 2,
      },
      call(),
    );
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1],
    );
    for (const choice of res.choices) {
      assert.equal(choice.logprobs!.tokens.length, 5);
      assert.equal(choice.logprobs!.tokens.join("").trimStart(), choice.text);
      assert.equal(choice.logprobs!.text_offset[0], 0);
    }
    assert.equal(res.usage?.completion_tokens, 10);
    const streamed = await drain(
      local.streamCompletion!(
        { model: "keel-tiny", prompt: "the story", max_tokens: 5, temperature: 0 },
        call(),
      ),
    );
    const text = streamed.flatMap((c) => c.choices.map((ch) => ch.text)).join("");
    assert.equal(text, res.choices[0]!.text);
    assert.equal(streamed.at(-1)!.usage?.completion_tokens, 5);
  });

  test("embeddings are deterministic unit vectors that differ by input", async () => {
    const res = await local.embed!(
      { model: "keel-tiny", input: ["hello world", "a quiet river"] },
      call(),
    );
    const [a, b] = res.data.map((d) => d.embedding as number[]);
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm(a!) - 1) < 1e-6);
    assert.notDeepEqual(a, b);
    const again = await local.embed!({ model: "keel-tiny", input: "hello world" }, call());
    assert.deepEqual(again.data[0]!.embedding, a);
    assert.ok(res.usage.prompt_tokens > 4);
    const base64 = await local.embed!(
      { model: "keel-tiny", input: [[5, 300, 301]], encoding_format: "base64" },
      call(),
    );
    assert.equal(Buffer.from(base64.data[0]!.embedding as string, "base64").length, a!.length * 4);
  });

  test("scores a continuation token by token", async () => {
    const res = await local.score!(
      { model: "keel-tiny", prompt: "the cat", continuation: " sat on" },
      call(),
    );
    assert.ok(res.tokens.length >= 2);
    assert.equal(res.tokens.map((t) => t.token).join(""), " sat on");
    const sum = res.tokens.reduce((s, t) => s + t.logprob, 0);
    assert.ok(Math.abs(res.total_logprob - sum) < 1e-9);
    const again = await local.score!(
      { model: "keel-tiny", prompt: "the cat", continuation: " sat on" },
      call(),
    );
    assert.deepEqual(again, res);
  });
});
