import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import { TextAssembler, type Detokenize } from "./local-text-stream.ts";

/** A fake vocabulary: token i is the i-th string; byte tokens are raw bytes. */
function vocab(pieces: (string | number)[]): Detokenize {
  return (tokens, _last) => {
    const bytes: number[] = [];
    for (const t of tokens) {
      const piece = pieces[t]!;
      if (typeof piece === "number") bytes.push(piece);
      else bytes.push(...Buffer.from(piece, "utf8"));
    }
    return Buffer.from(bytes).toString("utf8");
  };
}

function run(pieces: (string | number)[], tokens: number[], stop: string[]) {
  const assembler = new TextAssembler<number>(vocab(pieces), stop);
  const out: { text: string; data: number[] }[] = [];
  for (const t of tokens) {
    const piece = assembler.push(t as Token, t);
    if (piece) out.push(piece);
    if (assembler.stopped) break;
  }
  const rest = assembler.finish();
  if (rest) out.push(rest);
  return { out, text: out.map((p) => p.text).join(""), stopped: assembler.stopped };
}

describe("TextAssembler", () => {
  test("releases each token's text as soon as it is decoded", () => {
    const { out } = run(["Hello", " world", "!"], [0, 1, 2], []);
    assert.deepEqual(
      out.map((p) => p.text),
      ["Hello", " world", "!"],
    );
  });

  test("holds a character split over byte tokens until it is whole", () => {
    const check = [0xe2, 0x9c, 0x93]; // ✓
    const { out, text } = run(["ok ", ...check], [0, 1, 2, 3], []);
    assert.equal(text, "ok ✓");
    assert.deepEqual(out[1], { text: "✓", data: [1, 2, 3] });
  });

  test("stops at a stop sequence and leaves it out", () => {
    const { text, stopped } = run(
      ["one", " two", "\nUser", ":", " three"],
      [0, 1, 2, 3, 4],
      ["\nUser:"],
    );
    assert.equal(text, "one two");
    assert.equal(stopped, true);
  });

  test("a stop sequence inside one token cuts that token's text", () => {
    const { text, out } = run(["abc", "dEN", "Dxyz"], [0, 1, 2], ["END"]);
    assert.equal(text, "abcd");
    assert.deepEqual(out.at(-1)!.data, [1], "the cut token keeps its data");
  });

  test("text that only looked like a stop sequence is released", () => {
    const { text, stopped } = run(["a", "\nUs", "e", "ful"], [0, 1, 2, 3], ["\nUser:"]);
    assert.equal(text, "a\nUseful");
    assert.equal(stopped, false);
  });

  test("the earliest of several stop sequences wins", () => {
    const { text } = run(["x", "B", "A", "y"], [0, 1, 2, 3], ["AY", "BA"]);
    assert.equal(text, "x");
  });
});
