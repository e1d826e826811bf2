import type { LlamaModel, Token } from "node-llama-cpp";
import type { ChatLogprobs } from "./schema.ts";

/**
 * Token log-probabilities from llama.cpp logits, in the OpenAI shapes. A logprob is the
 * log-softmax of the model's logits for the next token: `logit − max − ln Σ exp(logit − max)`
 * (node-llama-cpp reports the sum as `totalLogitWeight`). They describe the model's own
 * distribution, before temperature and top_p.
 */
export interface TopToken {
  token: Token;
  logprob: number;
}

export interface TokenLogprob {
  token: Token;
  logprob: number;
  /** The most likely alternatives, best first (empty unless top_logprobs was asked for). */
  top: TopToken[];
}

/** logprob of `token` from a logits map (any subset that includes the max) and the weight. */
export function logprobOf(
  logits: ReadonlyMap<Token, number>,
  totalLogitWeight: number,
  token: Token,
): number {
  let max = -Infinity;
  for (const value of logits.values()) if (value > max) max = value;
  const logit = logits.get(token);
  if (logit === undefined) return -Infinity;
  return logit - max - Math.log(totalLogitWeight);
}

/** The `count` most likely tokens with their logprobs. */
export function topLogprobs(
  logits: ReadonlyMap<Token, number>,
  totalLogitWeight: number,
  count: number,
): TopToken[] {
  if (count <= 0) return [];
  const sorted = [...logits.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  const max = sorted[0]?.[1] ?? 0;
  const logZ = Math.log(totalLogitWeight);
  return sorted.map(([token, logit]) => ({ token, logprob: logit - max - logZ }));
}

/** How a token reads, for logprobs: its text with leading space, and its bytes. */
export interface TokenText {
  text: string;
  bytes: number[];
}

/**
 * Text of single tokens, cached per model. A token that is only part of a UTF-8 character
 * (a byte-fallback token) reads as `bytes:\xe2` like OpenAI's, with its true bytes.
 */
export function createTokenTexts(model: LlamaModel): (token: Token) => TokenText {
  const cache = new Map<Token, TokenText>();
  const pieces = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
  return (token) => {
    const hit = cache.get(token);
    if (hit !== undefined) return hit;
    const piece = Array.isArray(pieces) ? (pieces[token] as unknown) : undefined;
    const byte = typeof piece === "string" ? /^<0x([0-9A-Fa-f]{2})>$/.exec(piece) : null;
    let entry: TokenText;
    if (byte !== null) {
      const value = parseInt(byte[1]!, 16);
      entry =
        value < 0x80
          ? { text: String.fromCharCode(value), bytes: [value] }
          : { text: `bytes:\\x${byte[1]!.toLowerCase()}`, bytes: [value] };
    } else {
      // Detokenizing after a copy of itself keeps a leading space that starts the text.
      const text = model.detokenize([token], false, [token]);
      entry = { text, bytes: [...Buffer.from(text, "utf8")] };
    }
    cache.set(token, entry);
    return entry;
  };
}

export function toChatLogprobs(
  entries: readonly TokenLogprob[],
  texts: (token: Token) => TokenText,
): ChatLogprobs {
  return {
    content: entries.map((entry) => {
      const t = texts(entry.token);
      return {
        token: t.text,
        logprob: entry.logprob,
        bytes: t.bytes,
        top_logprobs: entry.top.map((top) => {
          const tt = texts(top.token);
          return { token: tt.text, logprob: top.logprob, bytes: tt.bytes };
        }),
      };
    }),
  };
}

export type CompletionLogprobs = {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: Record<string, number>[] | null;
  text_offset: number[];
};

/** The legacy completions shape; `offset` is where this text starts in the choice's text. */
export function toCompletionLogprobs(
  entries: readonly TokenLogprob[],
  texts: (token: Token) => TokenText,
  offset: number,
): CompletionLogprobs {
  const tokens: string[] = [];
  const textOffset: number[] = [];
  let at = offset;
  for (const entry of entries) {
    const text = texts(entry.token).text;
    tokens.push(text);
    textOffset.push(at);
    at += text.length;
  }
  return {
    tokens,
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) =>
      Object.fromEntries(e.top.map((top) => [texts(top.token).text, top.logprob])),
    ),
    text_offset: textOffset,
  };
}
