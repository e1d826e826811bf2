import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { seededRandom } from "../core/random.ts";
import { hasRun } from "./char-runs.ts";
import { charSet } from "./detector.ts";

describe("hasRun", () => {
  test("agrees with the regex for a run of that length, at every length and offset", () => {
    const rng = seededRandom(3);
    const chars = charSet("A-Za-z0-9+/");
    const inside = "aZ09+/";
    const outside = " .=-\n\u00e9";
    let runs = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + Math.floor(rng() * 30);
      // Runs of random lengths around `length`, between single characters outside the set.
      let text = "";
      while (text.length < 80 * rng()) {
        const run = Math.floor(rng() * (length + 3));
        for (let c = 0; c < run; c++) text += inside[Math.floor(rng() * inside.length)]!;
        text += outside[Math.floor(rng() * outside.length)]!;
      }
      if (rng() < 0.5) text = text.slice(Math.floor(rng() * text.length));
      const expected = new RegExp(`[A-Za-z0-9+/]{${length}}`).test(text);
      assert.equal(hasRun(text, length, chars), expected, `${length} in ${JSON.stringify(text)}`);
      if (expected) runs++;
    }
    assert.ok(runs > 5_000 && runs < 15_000, `${runs} texts had a run`);
  });

  test("finds an empty run in any text", () => {
    assert.equal(hasRun("", 0, charSet("a")), true);
  });
});
