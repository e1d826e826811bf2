import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import { seededRandom } from "../core/random.ts";
import { countTokens, sampleFromLogits } from "./local-sampling.ts";

const logits = new Map<Token, number>([
  [10 as Token, 5],
  [11 as Token, 4],
  [12 as Token, 0],
  [13 as Token, -3],
]);
const plain = { temperature: 1, topP: 1, frequencyPenalty: 0, presencePenalty: 0 };
const none = new Map<Token, number>();

function draws(options: typeof plain, counts = none, n = 2000, seed = 1): Map<Token, number> {
  const random = seededRandom(seed);
  const seen = new Map<Token, number>();
  for (let i = 0; i < n; i++) {
    const token = sampleFromLogits(logits, options, counts, random);
    seen.set(token, (seen.get(token) ?? 0) + 1);
  }
  return seen;
}

describe("sampleFromLogits", () => {
  test("the same seed draws the same tokens", () => {
    assert.deepEqual(draws(plain, none, 200, 9), draws(plain, none, 200, 9));
  });

  test("draws in proportion to softmax(logits / temperature)", () => {
    const seen = draws(plain);
    const share = (seen.get(10 as Token) ?? 0) / 2000;
    const expected = Math.exp(5) / (Math.exp(5) + Math.exp(4) + 1 + Math.exp(-3));
    assert.ok(Math.abs(share - expected) < 0.04, `${share} vs ${expected}`);
  });

  test("a low temperature is nearly greedy", () => {
    const seen = draws({ ...plain, temperature: 0.05 });
    assert.equal(seen.get(10 as Token), 2000);
  });

  test("top_p keeps only the nucleus", () => {
    const seen = draws({ ...plain, topP: 0.5 });
    assert.deepEqual([...seen.keys()], [10]);
  });

  test("penalties push repeated tokens down", () => {
    const counts = countTokens([10, 10, 10] as Token[]);
    const seen = draws({ ...plain, frequencyPenalty: 1, presencePenalty: 1 }, counts);
    assert.ok((seen.get(11 as Token) ?? 0) > (seen.get(10 as Token) ?? 0));
  });
});
