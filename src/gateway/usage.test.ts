import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  costMicros,
  estimateChatPromptTokens,
  estimateCompletionPromptTokens,
  estimateEmbeddingTokens,
  estimateTextTokens,
  resolveUsage,
} from "./usage.ts";

describe("cost", () => {
  test("is tokens × USD per million tokens, in integer micro-dollars", () => {
    const price = { input_per_mtok: 2.5, output_per_mtok: 10 };
    // 1,000 × $2.50/M + 500 × $10/M = $0.0025 + $0.005 = 7,500 micro-dollars
    assert.equal(costMicros(price, 1_000, 500), 7_500);
    assert.equal(costMicros(price, 3, 1), 18); // 7.5 + 10 = 17.5 → 18
    assert.ok(
      Number.isInteger(costMicros({ input_per_mtok: 0.15, output_per_mtok: 0.6 }, 1234, 567)),
    );
  });

  test("a call that used tokens at a non-zero price is never free", () => {
    assert.equal(costMicros({ input_per_mtok: 0.1, output_per_mtok: 0 }, 1, 0), 1);
  });

  test("no price or no tokens costs nothing", () => {
    assert.equal(costMicros(undefined, 1_000, 1_000), 0);
    assert.equal(costMicros({ input_per_mtok: 0, output_per_mtok: 0 }, 1_000, 1_000), 0);
    assert.equal(costMicros({ input_per_mtok: 5, output_per_mtok: 5 }, 0, 0), 0);
  });
});

describe("token estimator", () => {
  test("counts about four characters per token", () => {
    assert.equal(estimateTextTokens(""), 0);
    assert.equal(estimateTextTokens("a"), 1);
    assert.equal(estimateTextTokens("abcd"), 1);
    assert.equal(estimateTextTokens("abcde"), 2);
  });

  test("adds the chat framing per message", () => {
    const tokens = estimateChatPromptTokens({
      model: "m",
      messages: [
        { role: "system", content: "Be brief." }, // 9 chars → 3, +3
        { role: "user", content: [{ type: "text", text: "Hello there" }], name: "ann" }, // 11 → 3, +3, +1
      ],
    });
    assert.equal(tokens, 3 + (3 + 3) + (3 + 3 + 1));
  });

  test("counts completion prompts and embedding inputs", () => {
    assert.equal(estimateCompletionPromptTokens({ model: "m", prompt: ["abcdefgh", "abc"] }), 3);
    assert.equal(estimateEmbeddingTokens({ model: "m", input: "abcdefgh" }), 2);
    assert.equal(estimateEmbeddingTokens({ model: "m", input: [1, 2, 3] }), 3);
    assert.equal(estimateEmbeddingTokens({ model: "m", input: [[1, 2], [3]] }), 3);
  });

  test("uses reported usage when there is one, the estimate otherwise", () => {
    const reported = resolveUsage({ prompt_tokens: 7, completion_tokens: 3 }, () => 99, 40);
    assert.deepEqual(reported, { prompt_tokens: 7, completion_tokens: 3, estimated: false });
    const estimated = resolveUsage(undefined, () => 12, 41);
    assert.deepEqual(estimated, { prompt_tokens: 12, completion_tokens: 11, estimated: true });
  });

  test("never records 0 completion tokens for an answer that has text", () => {
    const usage = resolveUsage({ prompt_tokens: 5, completion_tokens: 0 }, () => 5, 8);
    assert.equal(usage.completion_tokens, 2);
    assert.equal(usage.estimated, true);
  });
});
