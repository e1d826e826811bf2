import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { guardrailDecisionSchema } from "./schema.ts";
import { checkMaxInputTokens, countInputTokens, estimateTokens } from "./token-limit.ts";

describe("estimateTokens", () => {
  test("counts ASCII at 4 characters per token and other characters one each", () => {
    assert.equal(estimateTokens(""), 0);
    assert.equal(estimateTokens("abcd"), 1);
    assert.equal(estimateTokens("abcde"), 2);
    assert.equal(estimateTokens("日本語"), 3);
    assert.equal(estimateTokens("😀"), 1, "a surrogate pair is one character");
  });
});

describe("checkMaxInputTokens", () => {
  const messages = [
    { role: "system", content: "You are terse." },
    {
      role: "user",
      name: "ann",
      content: [
        { type: "text", text: "Describe this picture in detail please." },
        { type: "image_url", image_url: { url: "https://example.com/a.png" } },
      ],
    },
  ];

  test("counts text, names and the chat framing, not images", () => {
    // 3 priming + (3 + 4) + (3 + 1 + 10 + 1 for the name)
    assert.equal(countInputTokens(messages), 25);
  });

  test("passes at the limit and blocks above it with a reason that says what to do", () => {
    assert.equal(checkMaxInputTokens(messages, 25).pass, true);
    const over = checkMaxInputTokens(messages, 24);
    assert.equal(over.pass, false);
    assert.equal(over.action, "block");
    assert.match(over.reason ?? "", /about 25 tokens.*max_input_tokens of 24.*shorten/);
  });

  test("uses a supplied tokenizer and says the count is exact", () => {
    const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
    const result = checkMaxInputTokens([{ role: "user", content: "one two three" }], 10, {
      countTokens: words,
    });
    assert.deepEqual(
      { tokens: result.tokens, estimated: result.estimated, pass: result.pass },
      { tokens: 9, estimated: false, pass: true },
    );
  });

  test("counts tool-call arguments and tolerates missing or null content", () => {
    const withTools = [
      { role: "assistant", content: null, tool_calls: [{ function: { arguments: '{"q":"x"}' } }] },
      { role: "tool", tool_call_id: "1" },
    ];
    assert.ok(countInputTokens(withTools) > 3 + 3 + 3);
  });

  test("its decision is serialisable for a trace", () => {
    const { pass: _pass, reason: _reason, ...decision } = checkMaxInputTokens(messages, 10);
    assert.deepEqual(guardrailDecisionSchema.parse(decision), decision);
  });
});
