import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { KeelError } from "../../core/errors.ts";
import { readGguf, readGgufTensorData } from "./reader.ts";
import { gguf, ggmlTypeIds, ggmlTypeName, type GgufValue } from "./types.ts";
import { writeGguf, type GgufWriteInput } from "./writer.ts";

const dir = mkdtempSync(join(tmpdir(), "keel-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

function sample(): GgufWriteInput {
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gguf.str("llama")],
    ["general.alignment", gguf.u32(64)],
    ["test.u8", { type: "uint8", value: 250 }],
    ["test.i8", { type: "int8", value: -7 }],
    ["test.u16", { type: "uint16", value: 65000 }],
    ["test.i16", { type: "int16", value: -32000 }],
    ["test.u32", gguf.u32(4_000_000_000)],
    ["test.i32", gguf.i32(-2_000_000_000)],
    ["test.f32", gguf.f32(0.5)],
    ["test.f64", { type: "float64", value: Math.PI }],
    ["test.bool", gguf.bool(true)],
    ["test.u64", gguf.u64(2n ** 63n + 5n)],
    ["test.i64", { type: "int64", value: -(2n ** 62n) }],
    ["test.unicode", gguf.str("héllo ▁ 世界 🙂")],
    ["test.empty", gguf.str("")],
    ["test.strings", gguf.strings(["a", "", "▁the", "<0x0A>"])],
    ["test.floats", gguf.f32s([0, -1.5, 1024])],
    ["test.ints", gguf.i32s([1, -2, 3])],
    ["test.u64s", { type: "array", itemType: "uint64", value: [1n, 2n ** 40n] }],
    ["test.bools", { type: "array", itemType: "bool", value: [true, false] }],
    ["test.none", gguf.strings([])],
  ]);
  return {
    metadata,
    tensors: [
      { name: "a.weight", dims: [4, 3], type: ggmlTypeIds.F32, data: bytes(48, 1) },
      { name: "b.weight", dims: [5], type: ggmlTypeIds.F16, data: bytes(10, 2) },
      { name: "c.weight", dims: [64, 2], type: ggmlTypeIds.Q8_0, data: bytes(136, 3) },
    ],
  };
}

async function written(name: string, input: GgufWriteInput = sample()): Promise<string> {
  const path = join(dir, name);
  await writeGguf(path, input);
  return path;
}

async function rejection(path: string): Promise<KeelError> {
  try {
    await readGguf(path);
  } catch (err) {
    assert.ok(err instanceof KeelError, `expected a KeelError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected readGguf to reject");
}

describe("GGUF writer and reader", () => {
  test("round-trips every metadata type and the tensor bytes", async () => {
    const input = sample();
    const path = await written("round-trip.gguf", input);
    const file = await readGguf(path);
    assert.equal(file.version, 3);
    assert.equal(file.alignment, 64);
    assert.deepEqual([...file.metadata.entries()], [...input.metadata]);
    assert.equal(file.tensors.length, 3);
    for (const [i, tensor] of input.tensors.entries()) {
      const info = file.tensors[i]!;
      assert.equal(info.name, tensor.name);
      assert.deepEqual(info.dims, tensor.dims);
      assert.equal(info.type, tensor.type);
      assert.equal(info.size, tensor.data.byteLength);
      assert.equal((file.dataOffset + info.offset) % 64, 0, "tensor data is aligned");
      const data = await readGgufTensorData(path, file, tensor.name);
      assert.deepEqual(new Uint8Array(data), tensor.data);
    }
  });

  test("writes byte-identical files for the same input", async () => {
    const a = readFileSync(await written("same-a.gguf"));
    const b = readFileSync(await written("same-b.gguf"));
    assert.ok(a.equals(b));
  });

  test("rejects a tensor whose data does not match its shape", async () => {
    const input = sample();
    const bad = { ...input, tensors: [{ name: "x", dims: [4], type: 0, data: bytes(8, 0) }] };
    await assert.rejects(writeGguf(join(dir, "bad.gguf"), bad), /needs 16 bytes, got 8/);
  });

  test("a file cut short anywhere is a clear error, not a crash", async () => {
    const path = await written("whole.gguf");
    const whole = readFileSync(path);
    const file = await readGguf(path);
    assert.ok(whole.length >= file.dataOffset);
    const last = file.tensors.at(-1)!;
    const dataEnd = file.dataOffset + last.offset + last.size!;
    const cuts = new Set<number>([0, 3, 7, 15, 23, file.dataOffset - 1, dataEnd - 1]);
    for (let at = 24; at < file.dataOffset; at += 37) cuts.add(at);
    for (const at of cuts) {
      const cut = join(dir, `cut-${at}.gguf`);
      writeFileSync(cut, whole.subarray(0, at));
      const err = await rejection(cut);
      assert.equal(err.status, 400, `cut at ${at}`);
      assert.match(err.message, /truncated|GGUF magic/, `cut at ${at}: ${err.message}`);
      assert.ok(err.message.includes(cut), "the message names the file");
    }
  });

  test("a file that is not GGUF is named as such", async () => {
    const path = join(dir, "text.gguf");
    writeFileSync(path, "this is not a model, just some text padding it out");
    assert.match((await rejection(path)).message, /does not start with the GGUF magic/);
  });

  test("an unknown metadata value type names the key it belongs to", async () => {
    const path = await written("unknown-type.gguf");
    const buffer = readFileSync(path);
    const key = Buffer.from("test.f32");
    const at = buffer.indexOf(key) + key.length; // the value type u32 follows the key
    buffer.writeUInt32LE(99, at);
    writeFileSync(path, buffer);
    const err = await rejection(path);
    assert.match(err.message, /unknown metadata value type 99/);
    assert.match(err.message, /metadata key test\.f32/);
  });

  test("a corrupt length cannot make the reader allocate it", async () => {
    const path = await written("huge-length.gguf");
    const buffer = readFileSync(path);
    const at = buffer.indexOf(Buffer.from("héllo")) - 8; // the string's u64 length
    buffer.writeBigUInt64LE(2n ** 60n, at);
    writeFileSync(path, buffer);
    assert.match((await rejection(path)).message, /string length .* corrupt/);
  });

  test("reads tensors of a ggml type it does not know, without their size", async () => {
    const path = await written("unknown-tensor.gguf");
    const buffer = readFileSync(path);
    const name = Buffer.from("b.weight");
    const at = buffer.indexOf(name) + name.length + 4 + 8; // n_dims, one dim, then the type
    buffer.writeUInt32LE(250, at);
    writeFileSync(path, buffer);
    const file = await readGguf(path);
    const tensor = file.tensors.find((t) => t.name === "b.weight")!;
    assert.equal(ggmlTypeName(tensor.type), "type_250");
    assert.equal(tensor.size, undefined);
    await assert.rejects(readGgufTensorData(path, file, "b.weight"), /type_250/);
    assert.equal(file.metadata.get("general.architecture")?.value, "llama");
  });

  test("reads the header of a 1 GiB model without reading its tensors", async () => {
    const input: GgufWriteInput = {
      metadata: [["general.architecture", gguf.str("llama")]],
      tensors: [{ name: "big.weight", dims: [8, 1], type: ggmlTypeIds.F32, data: bytes(32, 4) }],
    };
    const path = await written("big.gguf", input);
    const { dataOffset } = await readGguf(path); // patching a dimension keeps the header size
    const buffer = readFileSync(path);
    const name = Buffer.from("big.weight");
    const rows = 2 ** 25; // 8 × 2^25 floats = 1 GiB
    buffer.writeBigUInt64LE(BigInt(rows), buffer.indexOf(name) + name.length + 4 + 8);
    writeFileSync(path, buffer);
    const file = await readGguf(path).catch((err: unknown) => err);
    assert.ok(
      file instanceof KeelError && /truncated/.test(file.message),
      "data missing → truncated",
    );
    truncateSync(path, dataOffset + 2 ** 30); // sparse: nothing is written to disk
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    const big = await readGguf(path);
    assert.equal(big.tensors[0]!.size, 2 ** 30);
    assert.ok(performance.now() - started < 2_000);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
  });
});
