import { elementCount, ggmlTypeName, type GgufFile, type GgufValue } from "./types.ts";

/**
 * What a person (or the registry) wants to know about a GGUF model, from its header alone:
 * architecture, size, quantization, context, tokenizer and chat template.
 */
export interface GgufSummary {
  name: string | undefined;
  architecture: string | undefined;
  parameters: number;
  fileBytes: number;
  /** Tensor types by share of parameters, largest first. */
  quantization: { type: string; tensors: number; parameters: number }[];
  contextLength: number | undefined;
  embeddingLength: number | undefined;
  layers: number | undefined;
  tokenizer: {
    model: string | undefined;
    vocabSize: number | undefined;
    bosTokenId: number | undefined;
    eosTokenId: number | undefined;
  };
  chatTemplate: string | undefined;
  version: number;
  tensorCount: number;
  metadataCount: number;
}

export function summarizeGguf(file: GgufFile): GgufSummary {
  const text = (key: string) => stringValue(file.metadata.get(key));
  const count = (key: string) => numberValue(file.metadata.get(key));
  const architecture = text("general.architecture");
  const arch = (key: string) =>
    architecture === undefined ? undefined : count(`${architecture}.${key}`);

  const byType = new Map<string, { tensors: number; parameters: number }>();
  let parameters = 0;
  for (const tensor of file.tensors) {
    const n = elementCount(tensor.dims);
    parameters += n;
    const type = ggmlTypeName(tensor.type);
    const entry = byType.get(type) ?? { tensors: 0, parameters: 0 };
    entry.tensors += 1;
    entry.parameters += n;
    byType.set(type, entry);
  }
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  return {
    name: text("general.name"),
    architecture,
    parameters,
    fileBytes: file.fileSize,
    quantization: [...byType.entries()]
      .map(([type, entry]) => ({ type, ...entry }))
      .sort((a, b) => b.parameters - a.parameters),
    contextLength: arch("context_length"),
    embeddingLength: arch("embedding_length"),
    layers: arch("block_count"),
    tokenizer: {
      model: text("tokenizer.ggml.model"),
      vocabSize: tokens?.type === "array" ? tokens.value.length : arch("vocab_size"),
      bosTokenId: count("tokenizer.ggml.bos_token_id"),
      eosTokenId: count("tokenizer.ggml.eos_token_id"),
    },
    chatTemplate: text("tokenizer.chat_template"),
    version: file.version,
    tensorCount: file.tensors.length,
    metadataCount: file.metadata.size,
  };
}

function stringValue(value: GgufValue | undefined): string | undefined {
  return value?.type === "string" ? value.value : undefined;
}

function numberValue(value: GgufValue | undefined): number | undefined {
  if (value === undefined || value.type === "array" || value.type === "string") return undefined;
  if (value.type === "bool") return undefined;
  return Number(value.value);
}

/** 1234567 → "1.23M" */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
