import type { Token } from "node-llama-cpp";
import { newId } from "../core/ids.ts";
import type { TokenLogprob, TokenText } from "./local-logprobs.ts";
import { toChatLogprobs, toCompletionLogprobs } from "./local-logprobs.ts";
import type { ChatCompletion, ChatCompletionChunk, Completion, Usage } from "./schema.ts";

/** OpenAI response objects for the local provider's answers. */
export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

export function responseIdentity(prefix: "chatcmpl" | "cmpl", model: string): ResponseIdentity {
  // The sortable body of a Keel id, in OpenAI's id style.
  return {
    id: `${prefix}-${newId("request").slice(4)}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

type Texts = (token: Token) => TokenText;

export function chatCompletion(
  who: ResponseIdentity,
  text: string,
  finishReason: string,
  usage: Usage,
  logprobs: { entries: TokenLogprob[]; texts: Texts } | undefined,
): ChatCompletion {
  return {
    ...who,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: text },
        finish_reason: finishReason,
        logprobs: logprobs === undefined ? null : toChatLogprobs(logprobs.entries, logprobs.texts),
      },
    ],
    usage,
  };
}

export function chatChunk(
  who: ResponseIdentity,
  delta: { role?: "assistant"; content?: string },
  finishReason: string | null,
  logprobs: { entries: TokenLogprob[]; texts: Texts } | undefined,
): ChatCompletionChunk {
  return {
    ...who,
    object: "chat.completion.chunk",
    choices: [
      {
        index: 0,
        delta,
        finish_reason: finishReason,
        logprobs: logprobs === undefined ? null : toChatLogprobs(logprobs.entries, logprobs.texts),
      },
    ],
  };
}

/** The last chunk of a stream: no choices, the usage (the gateway decides who sees it). */
export function chatUsageChunk(who: ResponseIdentity, usage: Usage): ChatCompletionChunk {
  return { ...who, object: "chat.completion.chunk", choices: [], usage };
}

export interface CompletionChoice {
  /** Which prompt this answers. */
  index: number;
  text: string;
  finishReason: string | null;
  entries: TokenLogprob[] | undefined;
  /** Where this text starts within its choice (for logprobs text_offset). */
  offset: number;
}

export function completion(
  who: ResponseIdentity,
  choices: CompletionChoice[],
  usage: Usage | undefined,
  texts: Texts,
): Completion {
  return {
    ...who,
    object: "text_completion",
    choices: choices.map((c) => ({
      index: c.index,
      text: c.text,
      finish_reason: c.finishReason,
      logprobs: c.entries === undefined ? null : toCompletionLogprobs(c.entries, texts, c.offset),
    })),
    ...(usage === undefined ? {} : { usage }),
  };
}
