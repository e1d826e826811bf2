import type {
  ChatCompletion,
  ChatRequest,
  Completion,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from "../providers/schema.ts";
import {
  estimateChatPromptTokens,
  estimateCompletionPromptTokens,
  estimateEmbeddingTokens,
  resolveUsage,
  type TokenCounts,
} from "./usage.ts";

/** What a non-streamed answer contributes to its trace: tokens, finish reason, stored body. */
export interface Accounting {
  tokens: TokenCounts;
  finishReason: string | null;
  /** The response as the trace keeps it (when bodies are kept). */
  body: unknown;
}

export function accountChat(req: ChatRequest, res: ChatCompletion): Accounting {
  let chars = 0;
  for (const c of res.choices) chars += c.message.content?.length ?? 0;
  return {
    tokens: resolveUsage(res.usage, () => estimateChatPromptTokens(req), chars),
    finishReason: res.choices[0]?.finish_reason ?? null,
    body: res,
  };
}

export function accountCompletion(req: CompletionRequest, res: Completion): Accounting {
  let chars = 0;
  for (const c of res.choices) chars += c.text.length;
  return {
    tokens: resolveUsage(res.usage, () => estimateCompletionPromptTokens(req), chars),
    finishReason: res.choices[0]?.finish_reason ?? null,
    body: res,
  };
}

/**
 * Embeddings: only prompt tokens. The stored body keeps the answer's shape but not the
 * vectors (large, and nothing a trace reader needs): each entry says its dimensions (or its base64 length) instead.
 */
export function accountEmbedding(req: EmbeddingRequest, res: EmbeddingResponse): Accounting {
  const reported = res.usage.prompt_tokens > 0 ? { ...res.usage, completion_tokens: 0 } : null;
  return {
    tokens: resolveUsage(reported, () => estimateEmbeddingTokens(req), 0),
    finishReason: null,
    body: {
      ...res,
      data: res.data.map((e) =>
        typeof e.embedding === "string"
          ? { object: e.object, index: e.index, base64_length: e.embedding.length }
          : { object: e.object, index: e.index, dimensions: e.embedding.length },
      ),
    },
  };
}
