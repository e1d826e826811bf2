import { KeelError } from "../../core/errors.ts";
import { FileCursor } from "./file-cursor.ts";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  alignUp,
  ggmlTypeName,
  ggmlTypes,
  ggufScalarSizes,
  tensorByteSize,
  valueTypeName,
  type GgufFile,
  type GgufScalar,
  type GgufScalarTypeName,
  type GgufTensorInfo,
  type GgufValue,
} from "./types.ts";

/**
 * Reads a GGUF file's header, metadata and tensor infos by streaming through the file; tensor
 * data is never loaded (use `readGgufTensorData` for one tensor). A truncated or corrupt file,
 * or a value type this reader does not know, is a 400-class `KeelError` that names the file,
 * the byte offset and the metadata key or tensor being read.
 */
export async function readGguf(path: string): Promise<GgufFile> {
  const cursor = await FileCursor.open(path);
  try {
    return await readFrom(cursor);
  } finally {
    await cursor.close();
  }
}

/** The bytes of one tensor, read from its offset in the file. */
export async function readGgufTensorData(
  path: string,
  file: GgufFile,
  name: string,
): Promise<Buffer> {
  const tensor = file.tensors.find((t) => t.name === name);
  if (tensor === undefined) {
    throw new KeelError("not_found", `${path}: no tensor named "${name}"`);
  }
  if (tensor.size === undefined) {
    throw new KeelError(
      "unsupported",
      `${path}: tensor "${name}" has ggml type ${ggmlTypeName(tensor.type)}, whose size this reader does not know`,
    );
  }
  const cursor = await FileCursor.open(path);
  try {
    cursor.context = `tensor ${name}`;
    return await cursor.readAt(file.dataOffset + tensor.offset, tensor.size);
  } finally {
    await cursor.close();
  }
}

async function readFrom(cursor: FileCursor): Promise<GgufFile> {
  await cursor.ensure(8);
  const magic = cursor.u32();
  if (magic !== GGUF_MAGIC) cursor.fail("the file does not start with the GGUF magic bytes");
  const version = cursor.u32();
  if (version === 1) cursor.fail("GGUF version 1 is obsolete; convert the file again");
  if (version > 0xffff) cursor.fail("big-endian GGUF files are not supported");
  if (version !== 2 && version !== 3) cursor.fail(`unsupported GGUF version ${version}`);

  await cursor.ensure(16);
  // Each tensor info takes at least 28 bytes and each metadata entry at least 13.
  const tensorCount = cursor.u64AsNumber("tensor count", Math.floor(cursor.size / 28));
  const kvCount = cursor.u64AsNumber("metadata count", Math.floor(cursor.size / 13));

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    cursor.context = `metadata entry ${i}`;
    const key = await cursor.string();
    cursor.context = `metadata key ${key}`;
    if (metadata.has(key)) cursor.fail(`duplicate metadata key "${key}"`);
    await cursor.ensure(4);
    metadata.set(key, await readValue(cursor, cursor.u32()));
  }

  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    cursor.context = `tensor info ${i}`;
    tensors.push(await readTensorInfo(cursor));
  }

  const alignment = readAlignment(cursor, metadata.get("general.alignment"));
  const dataOffset = alignUp(cursor.position, alignment);
  const dataSize = cursor.size - dataOffset;
  for (const tensor of tensors) {
    cursor.context = `tensor ${tensor.name}`;
    if (tensor.offset % alignment !== 0) {
      cursor.fail(`tensor offset ${tensor.offset} is not a multiple of the alignment ${alignment}`);
    }
    if (tensor.size !== undefined && tensor.offset + tensor.size > dataSize) {
      cursor.fail(
        `tensor data ends at byte ${dataOffset + tensor.offset + tensor.size} but the file has ${cursor.size}: truncated`,
      );
    }
  }
  return { version, alignment, metadata, tensors, dataOffset, fileSize: cursor.size };
}

async function readValue(cursor: FileCursor, typeId: number): Promise<GgufValue> {
  const type = valueTypeName(typeId);
  if (type === undefined) cursor.fail(`unknown metadata value type ${typeId}`);
  if (type !== "array") return (await readScalarValue(cursor, type)) as GgufValue;

  await cursor.ensure(12);
  const itemTypeId = cursor.u32();
  const itemType = valueTypeName(itemTypeId);
  if (itemType === undefined) cursor.fail(`unknown array item type ${itemTypeId}`);
  if (itemType === "array") cursor.fail("nested metadata arrays are not supported");
  const itemSize = itemType === "string" ? 8 : ggufScalarSizes[itemType];
  const count = cursor.u64AsNumber("array length", Math.floor(cursor.remaining / itemSize));
  const value: GgufScalar[] = new Array<GgufScalar>(count);
  if (itemType === "string") {
    for (let i = 0; i < count; i++) value[i] = await cursor.string();
  } else {
    await cursor.ensure(count * itemSize);
    for (let i = 0; i < count; i++) value[i] = readScalar(cursor, itemType);
  }
  return { type: "array", itemType, value };
}

async function readScalarValue(
  cursor: FileCursor,
  type: GgufScalarTypeName,
): Promise<{ type: GgufScalarTypeName; value: GgufScalar }> {
  if (type === "string") return { type, value: await cursor.string() };
  await cursor.ensure(ggufScalarSizes[type]);
  return { type, value: readScalar(cursor, type) };
}

function readScalar(cursor: FileCursor, type: Exclude<GgufScalarTypeName, "string">): GgufScalar {
  switch (type) {
    case "uint8":
      return cursor.u8();
    case "int8":
      return cursor.i8();
    case "uint16":
      return cursor.u16();
    case "int16":
      return cursor.i16();
    case "uint32":
      return cursor.u32();
    case "int32":
      return cursor.i32();
    case "float32":
      return cursor.f32();
    case "float64":
      return cursor.f64();
    case "bool":
      return cursor.u8() !== 0;
    case "uint64":
      return cursor.u64();
    case "int64":
      return cursor.i64();
  }
}

const MAX_DIMS = 8;

async function readTensorInfo(cursor: FileCursor): Promise<GgufTensorInfo> {
  const name = await cursor.string();
  cursor.context = `tensor info ${name}`;
  await cursor.ensure(4);
  const nDims = cursor.u32();
  if (nDims === 0 || nDims > MAX_DIMS) cursor.fail(`tensor has ${nDims} dimensions`);
  await cursor.ensure(nDims * 8 + 12);
  const dims: number[] = [];
  for (let d = 0; d < nDims; d++) dims.push(cursor.u64AsNumber("tensor dimension"));
  const type = cursor.u32();
  const offset = cursor.u64AsNumber("tensor offset", cursor.size);
  const info = ggmlTypes.get(type);
  if (info !== undefined && dims[0]! % info.blockSize !== 0) {
    cursor.fail(`first dimension ${dims[0]} is not a multiple of the ${info.name} block size`);
  }
  return { name, dims, type, offset, size: tensorByteSize(type, dims) };
}

function readAlignment(cursor: FileCursor, value: GgufValue | undefined): number {
  if (value === undefined) return GGUF_DEFAULT_ALIGNMENT;
  cursor.context = "metadata key general.alignment";
  const n = typeof value.value === "number" || typeof value.value === "bigint" ? value.value : NaN;
  const alignment = Number(n);
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    cursor.fail(`general.alignment must be a power of two, got ${String(value.value)}`);
  }
  return alignment;
}
