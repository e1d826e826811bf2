import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { readGguf } from "./gguf/reader.ts";
import { summarizeGguf } from "./gguf/summary.ts";
import {
  TINY_MODEL_FILE,
  buildTinyModel,
  ensureTinyModel,
  makeTinyModel,
  toHalfBits,
} from "./tiny-model.ts";
import { SPACE_MARK, buildTinyVocab } from "./tiny-vocab.ts";

const dir = mkdtempSync(join(tmpdir(), "keel-tiny-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("keel-tiny", () => {
  test("the same seed writes the same file, another seed other weights", async () => {
    await makeTinyModel(join(dir, "a.gguf"), { seed: 5 });
    await makeTinyModel(join(dir, "b.gguf"), { seed: 5 });
    await makeTinyModel(join(dir, "c.gguf"), { seed: 6 });
    const a = readFileSync(join(dir, "a.gguf"));
    assert.ok(a.equals(readFileSync(join(dir, "b.gguf"))));
    assert.ok(!a.equals(readFileSync(join(dir, "c.gguf"))));
  });

  test("is a small llama model with a tokenizer and a chat template", async () => {
    const path = join(dir, "inspect.gguf");
    await makeTinyModel(path);
    const size = statSync(path).size;
    assert.ok(size > 100_000 && size < 4_000_000, `size ${size}`);
    const summary = summarizeGguf(await readGguf(path));
    assert.equal(summary.architecture, "llama");
    assert.equal(summary.tokenizer.model, "llama");
    assert.ok((summary.tokenizer.vocabSize ?? 0) > 1000);
    assert.match(summary.chatTemplate ?? "", /<\|im_start\|>/);
    assert.deepEqual(
      summary.quantization.map((q) => q.type),
      ["F16", "F32"],
    );
  });

  test("every vocabulary piece can be reached by SentencePiece's pairwise merges", () => {
    const { tokens, types } = buildTinyVocab();
    assert.equal(new Set(tokens).size, tokens.length, "pieces are unique");
    const normal = new Set(tokens.filter((_, i) => types[i] === 1));
    for (const piece of normal) {
      if ([...piece].length < 2) continue;
      const chars = [...piece];
      const splits = chars
        .slice(1)
        .map((_, i) => [chars.slice(0, i + 1).join(""), chars.slice(i + 1).join("")]);
      assert.ok(
        splits.some(([left, right]) => normal.has(left!) && normal.has(right!)),
        `"${piece}" cannot be merged from two pieces`,
      );
    }
    assert.ok(normal.has(`${SPACE_MARK}the`));
  });

  test("loads in llama.cpp and round-trips any text through its tokenizer", async () => {
    const path = join(dir, "load.gguf");
    await makeTinyModel(path);
    const llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: path });
    try {
      const text = "Hello world, the model said: ünïcödé ✓ 世界\n\tdone.";
      const tokens = model.tokenize(text, false);
      assert.ok(tokens.length < text.length, "merged pieces make fewer tokens than characters");
      assert.equal(model.detokenize(tokens), text);
      assert.equal(model.tokens.bos, 1);
      assert.equal(model.tokens.eos, 2);
      assert.ok(model.isEogToken(4 as Token), "<|im_end|> ends a turn");
    } finally {
      await model.dispose();
    }
  });

  test("ensureTinyModel replaces a damaged cached file", async () => {
    const cache = join(dir, "cache");
    const path = await ensureTinyModel(cache);
    assert.equal(path, join(cache, TINY_MODEL_FILE));
    const good = readFileSync(path);
    truncateSync(path, 1000);
    await ensureTinyModel(cache);
    assert.ok(readFileSync(path).equals(good));
  });

  test("generates in well under a second", () => {
    const started = performance.now();
    buildTinyModel({ seed: 9 });
    assert.ok(performance.now() - started < 1_500);
  });
});

describe("toHalfBits", () => {
  test("encodes IEEE binary16 exactly, rounding to nearest even", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [70000, 0x7c00],
      [0.1, 0x2e66],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [1 + 2 ** -11, 0x3c00], // a tie rounds to the even mantissa
      [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [value, bits] of cases) assert.equal(toHalfBits(value), bits, String(value));
  });

  test("matches the platform's Float16Array where it has one", () => {
    const Half = (
      globalThis as {
        Float16Array?: new (
          n: number,
        ) => ArrayLike<number> & { [i: number]: number; buffer: ArrayBuffer };
      }
    ).Float16Array;
    if (Half === undefined) return;
    const half = new Half(1);
    const view = new Uint16Array(half.buffer);
    for (let i = 0; i < 2000; i++) {
      const value = (Math.sin(i * 12.9898) * 43758.5453) % 8;
      half[0] = value;
      assert.equal(toHalfBits(value), view[0], String(value));
    }
  });
});
