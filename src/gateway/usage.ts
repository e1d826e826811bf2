import type { PriceConfig } from "../core/config-schema.ts";
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingRequest,
  Usage,
} from "../providers/schema.ts";

/**
 * Token usage and cost.
 *
 * Cost: prices are USD per million tokens, so `tokens × price` is already micro-dollars;
 * the sum is rounded to an integer. A call that used tokens at a non-zero price is never
 * recorded as free: a sub-micro-dollar cost rounds up to 1.
 *
 * Token estimation, used only when a provider reports no usage (some engines do not send it
 * on streams): about 4 characters per token on text (OpenAI's rule of thumb for English),
 * plus the chat format's framing: 3 tokens per message, 1 more when it has a name, and 3 to
 * prime the reply. Tool definitions and tool-call arguments count as their JSON text.
 * Non-text content parts (images, audio) are not counted. Non-empty text is at least 1 token.
 */

export const CHARS_PER_TOKEN = 4;
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING_TOKENS = 3;

export interface TokenCounts {
  prompt_tokens: number;
  completion_tokens: number;
  /** True when Keel counted them because the provider reported none. */
  estimated: boolean;
}

export function costMicros(
  price: PriceConfig | undefined,
  promptTokens: number,
  completionTokens: number,
): number {
  if (price === undefined) return 0;
  const exact = promptTokens * price.input_per_mtok + completionTokens * price.output_per_mtok;
  if (exact <= 0) return 0;
  return Math.max(1, Math.round(exact));
}

export function estimateTextTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Characters of text in a message's content (a string or an array of content parts). */
function contentChars(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let chars = 0;
  for (const part of content as { type?: unknown; text?: unknown }[]) {
    if (part.type === "text" && typeof part.text === "string") chars += part.text.length;
  }
  return chars;
}

export function estimateChatPromptTokens(req: ChatRequest): number {
  let tokens = REPLY_PRIMING_TOKENS;
  for (const message of req.messages) {
    tokens += TOKENS_PER_MESSAGE + Math.ceil(contentChars(message.content) / CHARS_PER_TOKEN);
    if (message.name !== undefined) tokens += TOKENS_PER_NAME;
    if (message.tool_calls !== undefined) {
      tokens += estimateTextTokens(JSON.stringify(message.tool_calls));
    }
  }
  if (req.tools !== undefined && req.tools.length > 0) {
    tokens += estimateTextTokens(JSON.stringify(req.tools));
  }
  return tokens;
}

export function estimateCompletionPromptTokens(req: CompletionRequest): number {
  const prompts = typeof req.prompt === "string" ? [req.prompt] : req.prompt;
  let tokens = 0;
  for (const prompt of prompts) tokens += estimateTextTokens(prompt);
  return tokens;
}

export function estimateEmbeddingTokens(req: EmbeddingRequest): number {
  const input = req.input;
  if (typeof input === "string") return estimateTextTokens(input);
  let tokens = 0;
  for (const item of input) {
    if (typeof item === "string") tokens += estimateTextTokens(item);
    else if (typeof item === "number") tokens += 1;
    else tokens += item.length;
  }
  return tokens;
}

/**
 * The provider's usage when it reported one; otherwise the estimate. `completionChars` is the
 * generated text (content plus tool-call arguments) across all choices. A reported usage of
 * zero completion tokens for a non-empty answer is replaced by the estimate.
 */
export function resolveUsage(
  reported: Pick<Usage, "prompt_tokens" | "completion_tokens"> | null | undefined,
  estimatePrompt: () => number,
  completionChars: number,
): TokenCounts {
  // A reported zero for text that was plainly generated is a broken count, not a free call.
  if (
    reported !== null &&
    reported !== undefined &&
    !(reported.completion_tokens === 0 && completionChars > 0)
  ) {
    return {
      prompt_tokens: reported.prompt_tokens,
      completion_tokens: reported.completion_tokens,
      estimated: false,
    };
  }
  return {
    prompt_tokens: estimatePrompt(),
    completion_tokens: Math.ceil(completionChars / CHARS_PER_TOKEN),
    estimated: true,
  };
}
