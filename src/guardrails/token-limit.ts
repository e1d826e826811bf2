import type { TokenLimitDecision } from "./schema.ts";

/**
 * The maximum-input-tokens guardrail: refuses a request whose messages are longer than the
 * route allows, before any provider is called.
 *
 * Without a tokenizer the count is an estimate that leans high, so a limit is not exceeded by
 * surprise: ASCII text counts one token per 4 characters (rounded up per piece; OpenAI's rule
 * of thumb for English, which real BPE vocabularies beat on ordinary prose), and every other
 * code point counts one token (CJK runs about one token per character; accented Latin is
 * over-counted). Each message adds 3 tokens of chat framing and 1 for a `name`, and 3 more
 * prime the reply (the OpenAI chat format). Text content parts, tool-call arguments and names
 * count; image and audio parts are not counted. Pass `countTokens` (a real tokenizer) for
 * exact counts.
 */

export interface TokenCountedMessage {
  role: string;
  content?: unknown;
  name?: unknown;
  tool_calls?: unknown;
}

export interface TokenLimitOptions {
  /** Counts the tokens of one piece of text; defaults to `estimateTokens`. */
  countTokens?: (text: string) => number;
}

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING_TOKENS = 3;
const ASCII_CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 128) ascii++;
    else if (code < 0xdc00 || code > 0xdfff) other++; // a surrogate pair counts once
  }
  return Math.ceil(ascii / ASCII_CHARS_PER_TOKEN) + other;
}

/** The text pieces of a message that reach the model as tokens. */
function messageTexts(message: TokenCountedMessage): string[] {
  const texts: string[] = [];
  const { content } = message;
  if (typeof content === "string") texts.push(content);
  else if (Array.isArray(content)) {
    for (const part of content as unknown[]) {
      if (typeof part !== "object" || part === null) continue;
      const { type, text } = part as { type?: unknown; text?: unknown };
      if (type === "text" && typeof text === "string") texts.push(text);
    }
  }
  if (typeof message.name === "string") texts.push(message.name);
  if (message.tool_calls !== undefined) texts.push(JSON.stringify(message.tool_calls));
  return texts;
}

export function countInputTokens(
  messages: readonly TokenCountedMessage[],
  options: TokenLimitOptions = {},
): number {
  const count = options.countTokens ?? estimateTokens;
  let tokens = REPLY_PRIMING_TOKENS;
  for (const message of messages) {
    tokens += TOKENS_PER_MESSAGE + (typeof message.name === "string" ? TOKENS_PER_NAME : 0);
    for (const text of messageTexts(message)) tokens += count(text);
  }
  return tokens;
}

export interface TokenLimitResult extends TokenLimitDecision {
  pass: boolean;
  /** Why it failed and what to do, for the error the caller returns (4xx). */
  reason?: string;
}

export function checkMaxInputTokens(
  messages: readonly TokenCountedMessage[],
  limit: number,
  options: TokenLimitOptions = {},
): TokenLimitResult {
  const tokens = countInputTokens(messages, options);
  const estimated = options.countTokens === undefined;
  const decision = { guardrail: "max_input_tokens", tokens, limit, estimated } as const;
  if (tokens <= limit) return { ...decision, action: "allow", pass: true };
  return {
    ...decision,
    action: "block",
    pass: false,
    reason:
      `the input is ${estimated ? "about " : ""}${tokens} tokens, over this model's ` +
      `guardrails.max_input_tokens of ${limit}: shorten or drop earlier messages`,
  };
}
