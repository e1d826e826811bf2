import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectPii } from "../src/guardrails/index.ts";
import { generatePiiCorpus, scoreDetections } from "./fixtures/pii-corpus.ts";

/**
 * The accuracy targets of `npm run bench -- pii`, on a smaller corpus so that a detector
 * regression fails CI: precision and recall of at least 0.95 for every entity type.
 */
describe("PII detector accuracy on the labelled corpus", () => {
  for (const seed of [1, 2]) {
    test(`every entity type reaches precision and recall of 0.95 (seed ${seed})`, () => {
      const docs = generatePiiCorpus({ seed, perType: 60 });
      const { perType, misses } = scoreDetections(docs, (text) => detectPii(text));
      for (const score of perType) {
        const examples = misses
          .filter((m) => m.type === score.type)
          .slice(0, 3)
          .map((m) => `${m.kind} ${JSON.stringify(m.value)}`);
        assert.ok(score.truePositives >= 40, `${score.type}: too few labelled values`);
        assert.ok(
          score.precision >= 0.95,
          `${score.type} precision ${score.precision}: ${examples.join("; ")}`,
        );
        assert.ok(
          score.recall >= 0.95,
          `${score.type} recall ${score.recall}: ${examples.join("; ")}`,
        );
      }
    });
  }

  test("the corpus is deterministic for a seed and labels offsets that point at the values", () => {
    const a = generatePiiCorpus({ seed: 5, perType: 5 });
    assert.deepEqual(generatePiiCorpus({ seed: 5, perType: 5 }), a);
    assert.notDeepEqual(generatePiiCorpus({ seed: 6, perType: 5 }), a);
    const labelled = a.flatMap((doc) => doc.entities.map((e) => doc.text.slice(e.start, e.end)));
    assert.ok(labelled.length >= 50);
    assert.ok(labelled.every((value) => value.length > 0 && value.trim() === value));
  });
});
