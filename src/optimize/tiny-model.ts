import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { readGguf } from "./gguf/reader.ts";
import { gguf, ggmlTypeIds, type GgufValue } from "./gguf/types.ts";
import { writeGguf, type GgufTensorInput, type GgufWriteInput } from "./gguf/writer.ts";
import { TINY_CHAT_TEMPLATE, buildTinyVocab, specialTokens } from "./tiny-vocab.ts";
import { seededRandom } from "../core/random.ts";

/**
 * keel-tiny: a generated llama-architecture GGUF with deterministic pseudo-random weights and
 * a real SentencePiece-style vocabulary, the way model hubs publish "tiny-random" models. It
 * loads in llama.cpp, tokenizes any text and produces gibberish, the same gibberish for the
 * same seed. Tests and the default `keel serve` generate it on first use (well under a second).
 */

export const TINY_MODEL_DEFAULT_SEED = 1;
export const TINY_MODEL_FILE = "keel-tiny.gguf";
/** Bump when the layout changes, so cached files are regenerated. */
export const TINY_MODEL_REVISION = 1;

const shape = {
  contextLength: 2048,
  embedding: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  feedForward: 128,
};

export interface TinyModelOptions {
  seed?: number;
}

/** The metadata and tensors of keel-tiny for a seed (pure: no file is touched). */
export function buildTinyModel(options: TinyModelOptions = {}): GgufWriteInput {
  const seed = options.seed ?? TINY_MODEL_DEFAULT_SEED;
  const vocab = buildTinyVocab();
  const nVocab = vocab.tokens.length;
  const headDim = shape.embedding / shape.heads;
  const kvDim = headDim * shape.kvHeads;

  const metadata: [string, GgufValue][] = [
    ["general.architecture", gguf.str("llama")],
    ["general.name", gguf.str("keel-tiny")],
    ["general.description", gguf.str("Keel's generated test model: random weights, gibberish")],
    ["general.file_type", gguf.u32(1)], // mostly F16
    ["general.alignment", gguf.u32(32)],
    ["keel.tiny.seed", gguf.u32(seed >>> 0)],
    ["keel.tiny.revision", gguf.u32(TINY_MODEL_REVISION)],
    ["llama.context_length", gguf.u32(shape.contextLength)],
    ["llama.embedding_length", gguf.u32(shape.embedding)],
    ["llama.block_count", gguf.u32(shape.layers)],
    ["llama.feed_forward_length", gguf.u32(shape.feedForward)],
    ["llama.attention.head_count", gguf.u32(shape.heads)],
    ["llama.attention.head_count_kv", gguf.u32(shape.kvHeads)],
    ["llama.attention.layer_norm_rms_epsilon", gguf.f32(1e-5)],
    ["llama.rope.dimension_count", gguf.u32(headDim)],
    ["llama.rope.freq_base", gguf.f32(10000)],
    ["llama.vocab_size", gguf.u32(nVocab)],
    ["llama.pooling_type", gguf.u32(1)], // mean, for embedding contexts
    ["tokenizer.ggml.model", gguf.str("llama")],
    ["tokenizer.ggml.tokens", gguf.strings(vocab.tokens)],
    ["tokenizer.ggml.scores", gguf.f32s(vocab.scores)],
    ["tokenizer.ggml.token_type", gguf.i32s(vocab.types)],
    ["tokenizer.ggml.unknown_token_id", gguf.u32(specialTokens.unk)],
    ["tokenizer.ggml.bos_token_id", gguf.u32(specialTokens.bos)],
    ["tokenizer.ggml.eos_token_id", gguf.u32(specialTokens.eos)],
    ["tokenizer.ggml.eot_token_id", gguf.u32(specialTokens.imEnd)],
    ["tokenizer.ggml.add_bos_token", gguf.bool(true)],
    ["tokenizer.ggml.add_eos_token", gguf.bool(false)],
    ["tokenizer.chat_template", gguf.str(TINY_CHAT_TEMPLATE)],
  ];

  const random = seededRandom(seed);
  const f16 = (name: string, dims: number[], scale: number): GgufTensorInput => ({
    name,
    dims,
    type: ggmlTypeIds.F16,
    data: halfTensor(dims[0]! * dims[1]!, () => (random() * 2 - 1) * scale),
  });
  const ones = (name: string): GgufTensorInput => ({
    name,
    dims: [shape.embedding],
    type: ggmlTypeIds.F32,
    data: f32Tensor(shape.embedding, 1),
  });
  const inScale = (n: number) => Math.sqrt(3 / n); // unit variance out of n unit inputs

  const tensors: GgufTensorInput[] = [
    f16("token_embd.weight", [shape.embedding, nVocab], 1),
    ones("output_norm.weight"),
    outputTensor(nVocab, vocab.silentTokens, random),
  ];
  for (let b = 0; b < shape.layers; b++) {
    const e = shape.embedding;
    tensors.push(
      ones(`blk.${b}.attn_norm.weight`),
      f16(`blk.${b}.attn_q.weight`, [e, e], inScale(e)),
      f16(`blk.${b}.attn_k.weight`, [e, kvDim], inScale(e)),
      f16(`blk.${b}.attn_v.weight`, [e, kvDim], inScale(e)),
      f16(`blk.${b}.attn_output.weight`, [e, e], inScale(e) / 2),
      ones(`blk.${b}.ffn_norm.weight`),
      f16(`blk.${b}.ffn_gate.weight`, [e, shape.feedForward], inScale(e)),
      f16(`blk.${b}.ffn_down.weight`, [shape.feedForward, e], inScale(shape.feedForward) / 2),
      f16(`blk.${b}.ffn_up.weight`, [e, shape.feedForward], inScale(e)),
    );
  }
  return { metadata, tensors };
}

/**
 * The output projection. Rows of special and byte tokens are zero, so their logit is 0 while
 * ordinary pieces spread widely (std ≈ 5): greedy decoding never ends a turn or emits raw bytes,
 * output is readable ASCII gibberish, and near-ties that could flip between runs are rare.
 */
function outputTensor(nVocab: number, silent: number, random: () => number): GgufTensorInput {
  const e = shape.embedding;
  const scale = Math.sqrt(3 / e) * 5;
  return {
    name: "output.weight",
    dims: [e, nVocab],
    type: ggmlTypeIds.F16,
    data: halfTensor(e * nVocab, (i) =>
      Math.floor(i / e) < silent ? 0 : (random() * 2 - 1) * scale,
    ),
  };
}

/** Writes keel-tiny to `path`. */
export async function makeTinyModel(path: string, options: TinyModelOptions = {}): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeGguf(path, buildTinyModel(options));
}

/**
 * `<dir>/keel-tiny.gguf`, generated with the default seed unless a current one is already
 * there. Safe when several processes race: each writes a temporary file and renames it.
 */
export async function ensureTinyModel(dir: string): Promise<string> {
  const path = join(dir, TINY_MODEL_FILE);
  if (existsSync(path) && (await isCurrentTinyModel(path))) return path;
  await makeTinyModel(path);
  return path;
}

async function isCurrentTinyModel(path: string): Promise<boolean> {
  try {
    const file = await readGguf(path);
    const revision = file.metadata.get("keel.tiny.revision")?.value;
    const seed = file.metadata.get("keel.tiny.seed")?.value;
    return revision === TINY_MODEL_REVISION && seed === TINY_MODEL_DEFAULT_SEED;
  } catch {
    return false; // unreadable or truncated: generate it again
  }
}

function halfTensor(count: number, value: (index: number) => number): Uint8Array {
  const bytes = new Uint8Array(count * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) view.setUint16(i * 2, toHalfBits(value(i)), true);
  return bytes;
}

function f32Tensor(count: number, value: number): Uint8Array {
  const bytes = new Uint8Array(count * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) view.setFloat32(i * 4, value, true);
  return bytes;
}

/** IEEE 754 binary16 bits of a number, rounded to nearest (ties to even). */
export function toHalfBits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const v = Math.abs(value);
  if (v === 0) return sign;
  if (v >= 65520) return sign | 0x7c00; // rounds to infinity
  if (v < 2 ** -14) return sign | roundEven(v / 2 ** -24); // subnormal
  let exp = Math.floor(Math.log2(v));
  if (2 ** exp > v) exp--;
  if (2 ** (exp + 1) <= v) exp++;
  let mantissa = roundEven((v / 2 ** exp - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exp++;
  }
  return sign | ((exp + 15) << 10) | mantissa;
}

function roundEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
