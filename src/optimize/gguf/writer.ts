import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { KeelError } from "../../core/errors.ts";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  alignUp,
  ggmlTypeName,
  ggufScalarSizes,
  ggufValueTypes,
  tensorByteSize,
  type GgufScalar,
  type GgufScalarTypeName,
  type GgufValue,
} from "./types.ts";

export interface GgufTensorInput {
  name: string;
  /** ne[0] first (the contiguous dimension). */
  dims: number[];
  /** ggml type id. */
  type: number;
  data: Uint8Array;
}

export interface GgufWriteInput {
  /** Written in iteration order. `general.alignment`, when present, sets the alignment. */
  metadata: Map<string, GgufValue> | Iterable<readonly [string, GgufValue]>;
  tensors: readonly GgufTensorInput[];
}

/**
 * Writes a GGUF v3 file. The header is built in memory, tensor data is written tensor by
 * tensor, and the file appears at `path` only once complete (written beside it, then renamed),
 * so a reader never sees half a file even when two processes generate the same model.
 */
export async function writeGguf(path: string, input: GgufWriteInput): Promise<void> {
  const metadata = [...input.metadata];
  const alignmentValue = metadata.find(([key]) => key === "general.alignment")?.[1];
  const alignment =
    alignmentValue === undefined ? GGUF_DEFAULT_ALIGNMENT : Number(alignmentValue.value);
  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(3);
  header.u64(BigInt(input.tensors.length));
  header.u64(BigInt(metadata.length));
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of input.tensors) {
    checkTensor(tensor);
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const d of tensor.dims) header.u64(BigInt(d));
    header.u32(tensor.type);
    offset = alignUp(offset, alignment);
    offsets.push(offset);
    header.u64(BigInt(offset));
    offset += tensor.data.byteLength;
  }
  const headerBytes = header.finish();
  const dataStart = alignUp(headerBytes.length, alignment);

  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "w");
  try {
    await handle.write(headerBytes, 0, headerBytes.length, 0);
    let end = headerBytes.length;
    for (const [i, tensor] of input.tensors.entries()) {
      const at = dataStart + offsets[i]!;
      await handle.write(tensor.data, 0, tensor.data.byteLength, at);
      end = at + tensor.data.byteLength;
    }
    // Pad the header when there are no tensors, and the last tensor to the alignment.
    const total = alignUp(Math.max(end, dataStart), alignment);
    await handle.truncate(total);
    await handle.close();
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

function checkTensor(tensor: GgufTensorInput): void {
  const expected = tensorByteSize(tensor.type, tensor.dims);
  if (expected !== undefined && expected !== tensor.data.byteLength) {
    throw new KeelError(
      "invalid_request",
      `tensor "${tensor.name}": ${ggmlTypeName(tensor.type)} ${tensor.dims.join("x")} needs ${expected} bytes, got ${tensor.data.byteLength}`,
    );
  }
}

function writeValue(out: ByteWriter, value: GgufValue): void {
  out.u32(ggufValueTypes[value.type]);
  if (value.type === "array") {
    out.u32(ggufValueTypes[value.itemType]);
    out.u64(BigInt(value.value.length));
    for (const item of value.value) writeScalar(out, value.itemType, item);
    return;
  }
  writeScalar(out, value.type, value.value);
}

function writeScalar(out: ByteWriter, type: GgufScalarTypeName, value: GgufScalar): void {
  if (type === "string") {
    out.string(String(value));
    return;
  }
  const at = out.reserve(ggufScalarSizes[type]);
  const view = out.view;
  switch (type) {
    case "uint8":
      view.setUint8(at, Number(value));
      break;
    case "int8":
      view.setInt8(at, Number(value));
      break;
    case "uint16":
      view.setUint16(at, Number(value), true);
      break;
    case "int16":
      view.setInt16(at, Number(value), true);
      break;
    case "uint32":
      view.setUint32(at, Number(value), true);
      break;
    case "int32":
      view.setInt32(at, Number(value), true);
      break;
    case "float32":
      view.setFloat32(at, Number(value), true);
      break;
    case "float64":
      view.setFloat64(at, Number(value), true);
      break;
    case "bool":
      view.setUint8(at, value === true ? 1 : 0);
      break;
    case "uint64":
      view.setBigUint64(at, BigInt(value), true);
      break;
    case "int64":
      view.setBigInt64(at, BigInt(value), true);
      break;
  }
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  #bytes = new Uint8Array(64 * 1024);
  view = new DataView(this.#bytes.buffer);
  #length = 0;

  reserve(n: number): number {
    if (this.#length + n > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + n));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.#length;
    this.#length += n;
    return at;
  }

  u32(value: number): void {
    this.view.setUint32(this.reserve(4), value, true);
  }

  u64(value: bigint): void {
    this.view.setBigUint64(this.reserve(8), value, true);
  }

  string(value: string): void {
    const encoded = Buffer.from(value, "utf8");
    this.u64(BigInt(encoded.length));
    const at = this.reserve(encoded.length); // may grow #bytes: reserve before reading it
    this.#bytes.set(encoded, at);
  }

  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }
}
