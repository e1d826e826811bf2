import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { seededRandom } from "../core/random.ts";
import { anyWordPattern } from "./any-word.ts";

/** Letters few enough that random words and texts often meet, and characters regexes treat specially. */
const ALPHABET = "abcAB |<[]#:'.*+?()\\/-^$";

function randomString(rng: () => number, min: number, max: number): string {
  const length = min + Math.floor(rng() * (max - min + 1));
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(rng() * ALPHABET.length)]!;
  return out;
}

describe("anyWordPattern", () => {
  test("finds a text holding one of the words, in any case, and no other", () => {
    const rng = seededRandom(11);
    let found = 0;
    for (let list = 0; list < 300; list++) {
      const words = Array.from({ length: 1 + Math.floor(rng() * 8) }, () =>
        randomString(rng, 1, 4),
      );
      // A word that extends another one in the list, so the trie has to cut it short.
      words.push(words[0]! + randomString(rng, 1, 3));
      const pattern = anyWordPattern(words);
      for (let i = 0; i < 30; i++) {
        const text = randomString(rng, 0, 24);
        const expected = words.some((w) => text.toLowerCase().includes(w.toLowerCase()));
        assert.equal(pattern.test(text), expected, `${JSON.stringify(words)} in ${text}`);
        if (expected) found++;
      }
    }
    assert.ok(found > 1000 && found < 8000, `${found} of 9000 texts held a word`);
  });

  test("matches every text when given no word or an empty one", () => {
    assert.ok(anyWordPattern([]).test(""));
    assert.ok(anyWordPattern(["x", ""]).test("abc"));
  });
});
