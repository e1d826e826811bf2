import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";

const bin = fileURLToPath(new URL("../../bin/keel.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "keel-cli-models-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function keel(args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "" },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("keel models", () => {
  test("make-tiny writes the same model for the same seed", () => {
    const a = join(dir, "a.gguf");
    const b = join(dir, "b.gguf");
    const r = keel(["models", "make-tiny", a, "--seed", "3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /keel-tiny \(seed 3\), [\d.]+K parameters/);
    assert.equal(keel(["models", "make-tiny", b, "--seed", "3"]).code, 0);
    assert.ok(readFileSync(a).equals(readFileSync(b)));
  });

  test("inspect prints architecture, parameters, quantization, context, tokenizer, template", () => {
    const path = join(dir, "inspect.gguf");
    assert.equal(keel(["models", "make-tiny", path]).code, 0);
    const text = keel(["models", "inspect", path]);
    assert.equal(text.code, 0, text.stderr);
    for (const line of [
      /architecture\s+llama/,
      /parameters\s+279\.4K/,
      /quantization\s+F16 .*F32/,
      /context length\s+2048/,
      /tokenizer\s+llama, vocabulary \d+, bos 1, eos 2/,
      /<\|im_start\|>/,
    ]) {
      assert.match(text.stdout, line);
    }
    const json = keel(["models", "inspect", path, "--json"]);
    const summary = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(summary.architecture, "llama");
    assert.equal(summary.contextLength, 2048);
    assert.equal((summary.tokenizer as { model: string }).model, "llama");
  });

  test("inspect of a file that is not GGUF exits 1 and says why", () => {
    const path = join(dir, "notes.txt");
    writeFileSync(path, "just some notes, not a model at all");
    const r = keel(["models", "inspect", path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^keel: .*notes\.txt: not a valid GGUF file/m);
  });

  test("make-tiny refuses a seed that is not a 32-bit integer", () => {
    const r = keel(["models", "make-tiny", join(dir, "x.gguf"), "--seed", "abc"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--seed/);
  });
});
