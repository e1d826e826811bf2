import type { LlamaEmbeddingContext, Token } from "node-llama-cpp";
import { KeelError } from "../core/errors.ts";
import type { EmbeddingRequest, EmbeddingResponse } from "./schema.ts";

/**
 * Embeddings from a llama.cpp embedding context: mean pooling over the input's tokens (Keel
 * loads models that declare no pooling type with mean pooling), then L2-normalized, so a dot
 * product is the cosine similarity. Inputs are strings or token-id arrays, as in the OpenAI API.
 */
export interface EmbedTarget {
  context: LlamaEmbeddingContext;
  vocabSize: number;
  contextSize: number;
  dimensions: number;
}

export async function embed(
  target: EmbedTarget,
  req: EmbeddingRequest,
  signal: AbortSignal,
): Promise<EmbeddingResponse> {
  if (req.dimensions !== undefined && req.dimensions !== target.dimensions) {
    throw new KeelError(
      "unsupported",
      `dimensions: this model's embeddings have ${target.dimensions} dimensions and cannot be shortened`,
      { param: "dimensions" },
    );
  }
  const inputs = normalizeInputs(req.input, target.vocabSize);
  let promptTokens = 0;
  const data: EmbeddingResponse["data"] = [];
  for (const [index, input] of inputs.entries()) {
    if (signal.aborted) {
      throw new KeelError("client_closed", "embedding stopped: the request was cancelled");
    }
    const length = target.context.calculateInputLength(input);
    if (length >= target.contextSize) {
      throw new KeelError(
        "context_length_exceeded",
        `input ${index} is ${length} tokens; this model embeds at most ${target.contextSize - 1} (context_size)`,
        { param: inputs.length === 1 ? "input" : `input.${index}` },
      );
    }
    promptTokens += length;
    const { vector } = await target.context.getEmbeddingFor(input);
    const unit = normalize(vector);
    data.push({
      object: "embedding",
      index,
      embedding: req.encoding_format === "base64" ? toBase64(unit) : unit,
    });
  }
  return {
    object: "list",
    data,
    model: req.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

function normalizeInputs(
  input: EmbeddingRequest["input"],
  vocabSize: number,
): (string | Token[])[] {
  const list: (string | Token[])[] =
    typeof input === "string"
      ? [input]
      : input.length > 0 && typeof input[0] === "number"
        ? [input as Token[]]
        : (input as (string | Token[])[]);
  list.forEach((item, i) => {
    const param = list.length === 1 ? "input" : `input.${i}`;
    if (item.length === 0) {
      throw new KeelError("invalid_request", `${param} must not be empty`, { param });
    }
    if (typeof item !== "string") {
      const bad = item.find((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
      if (bad !== undefined) {
        throw new KeelError(
          "invalid_request",
          `${param}: token id ${bad} is outside this model's vocabulary (0..${vocabSize - 1})`,
          { param },
        );
      }
    }
  });
  return list;
}

function normalize(vector: readonly number[]): number[] {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  return norm === 0 ? [...vector] : vector.map((v) => v / norm);
}

/** OpenAI's base64 format: little-endian float32s. */
function toBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString("base64");
}
