/**
 * The GGUF container format (versions 2 and 3, little-endian), as llama.cpp writes it:
 *
 *   magic "GGUF" · version u32 · tensor_count u64 · metadata_kv_count u64
 *   metadata: key (string) · value type u32 · value
 *   tensor infos: name (string) · n_dims u32 · dims u64[n_dims] · ggml type u32 · offset u64
 *   padding to `general.alignment` (default 32) · tensor data (each tensor aligned too)
 *
 * A string is a u64 byte length followed by UTF-8 bytes; an array is an item type u32, a u64
 * count and the items.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types and their ids in the file. */
export const ggufValueTypes = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufValueTypeName = keyof typeof ggufValueTypes;
export type GgufScalarTypeName = Exclude<GgufValueTypeName, "array">;

/** Byte size of each fixed-size scalar type (strings are variable). */
export const ggufScalarSizes: Record<Exclude<GgufScalarTypeName, "string">, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

const valueTypeNames = new Map<number, GgufValueTypeName>(
  Object.entries(ggufValueTypes).map(([name, id]) => [id, name as GgufValueTypeName]),
);

export function valueTypeName(id: number): GgufValueTypeName | undefined {
  return valueTypeNames.get(id);
}

/** The JS value of a scalar: 64-bit integers are bigints, so they round-trip exactly. */
export type GgufScalar = number | bigint | boolean | string;

/** A typed metadata value: the type is kept so a file rewritten from it is byte-identical. */
export type GgufValue =
  | { type: "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32"; value: number }
  | { type: "float32" | "float64"; value: number }
  | { type: "uint64" | "int64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: GgufScalarTypeName; value: GgufScalar[] };

/** Builders for typed metadata values (`gguf.u32(2048)`, `gguf.strings([...])`). */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: "uint8", value }),
  i32: (value: number): GgufValue => ({ type: "int32", value }),
  u32: (value: number): GgufValue => ({ type: "uint32", value }),
  u64: (value: bigint): GgufValue => ({ type: "uint64", value }),
  f32: (value: number): GgufValue => ({ type: "float32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  f32s: (value: number[]): GgufValue => ({ type: "array", itemType: "float32", value }),
  i32s: (value: number[]): GgufValue => ({ type: "array", itemType: "int32", value }),
} as const;

/** ggml tensor types: id → name, elements per block and bytes per block. */
export interface GgmlTypeInfo {
  name: string;
  blockSize: number;
  typeSize: number;
}

export const ggmlTypes: ReadonlyMap<number, GgmlTypeInfo> = new Map(
  (
    [
      [0, "F32", 1, 4],
      [1, "F16", 1, 2],
      [2, "Q4_0", 32, 18],
      [3, "Q4_1", 32, 20],
      [6, "Q5_0", 32, 22],
      [7, "Q5_1", 32, 24],
      [8, "Q8_0", 32, 34],
      [9, "Q8_1", 32, 36],
      [10, "Q2_K", 256, 84],
      [11, "Q3_K", 256, 110],
      [12, "Q4_K", 256, 144],
      [13, "Q5_K", 256, 176],
      [14, "Q6_K", 256, 210],
      [15, "Q8_K", 256, 292],
      [16, "IQ2_XXS", 256, 66],
      [17, "IQ2_XS", 256, 74],
      [18, "IQ3_XXS", 256, 98],
      [19, "IQ1_S", 256, 50],
      [20, "IQ4_NL", 32, 18],
      [21, "IQ3_S", 256, 110],
      [22, "IQ2_S", 256, 82],
      [23, "IQ4_XS", 256, 136],
      [24, "I8", 1, 1],
      [25, "I16", 1, 2],
      [26, "I32", 1, 4],
      [27, "I64", 1, 8],
      [28, "F64", 1, 8],
      [29, "IQ1_M", 256, 56],
      [30, "BF16", 1, 2],
      [34, "TQ1_0", 256, 54],
      [35, "TQ2_0", 256, 66],
      [39, "MXFP4", 32, 17],
    ] as const
  ).map(([id, name, blockSize, typeSize]) => [id, { name, blockSize, typeSize }]),
);

export const ggmlTypeIds = {
  F32: 0,
  F16: 1,
  Q8_0: 8,
} as const;

/** A name for any ggml type id, including ones this table does not know. */
export function ggmlTypeName(id: number): string {
  return ggmlTypes.get(id)?.name ?? `type_${id}`;
}

export interface GgufTensorInfo {
  name: string;
  /** ne[0] first: the innermost (contiguous) dimension, as ggml orders them. */
  dims: number[];
  /** ggml type id (see `ggmlTypes`). */
  type: number;
  /** Byte offset within the tensor data section. */
  offset: number;
  /** Byte size of the data; undefined for a ggml type this reader does not know. */
  size: number | undefined;
}

export interface GgufFile {
  version: number;
  alignment: number;
  /** Metadata in file order. */
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute file offset where tensor data starts. */
  dataOffset: number;
  fileSize: number;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/** Bytes taken by a tensor of `type` with `dims`, or undefined for an unknown type. */
export function tensorByteSize(type: number, dims: readonly number[]): number | undefined {
  const info = ggmlTypes.get(type);
  if (info === undefined) return undefined;
  const elements = elementCount(dims);
  return (elements / info.blockSize) * info.typeSize;
}

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}
