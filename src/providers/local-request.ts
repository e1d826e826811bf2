import { randomInt } from "node:crypto";
import type { Token } from "node-llama-cpp";
import { KeelError } from "../core/errors.ts";
import type { GenerationParams } from "./local-generate.ts";
import type { ChatRequest, CompletionRequest } from "./schema.ts";

/**
 * OpenAI request fields → generation settings for a local model, with the checks that make bad
 * input a 4xx. Defaults follow the OpenAI API: temperature 1, top_p 1, no penalties, a random
 * seed unless one is given (with a seed, sampling is reproducible; temperature 0 is greedy).
 *
 * max_tokens is rejected, not clamped: when prompt + max_tokens does not fit the context
 * (`context_size` per sequence), the request fails with `context_length_exceeded` (400) and
 * says how many tokens remain. Without max_tokens, generation may run to the end of the context.
 */
export interface RequestSettings {
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  seed: number;
  stop: string[];
  frequencyPenalty: number;
  presencePenalty: number;
  logprobs: number | undefined;
}

type Sampling = Pick<
  ChatRequest,
  "temperature" | "top_p" | "n" | "stop" | "seed" | "presence_penalty" | "frequency_penalty"
>;

export function chatSettings(req: ChatRequest): RequestSettings {
  if (req.tools !== undefined && req.tools.length > 0) {
    throw unsupported("tools", "local models do not call tools; send the request without tools");
  }
  const format = req.response_format?.type;
  if (format !== undefined && format !== "text") {
    throw unsupported(
      "response_format",
      `response_format "${format}" is not supported by local models; use "text"`,
    );
  }
  if (req.top_logprobs !== undefined && req.top_logprobs !== null && req.logprobs !== true) {
    throw new KeelError("invalid_request", "top_logprobs requires logprobs: true", {
      param: "top_logprobs",
    });
  }
  return {
    ...sampling(req),
    maxTokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
    logprobs: req.logprobs === true ? (req.top_logprobs ?? 0) : undefined,
  };
}

export function completionSettings(req: CompletionRequest): RequestSettings {
  if (req.echo === true)
    throw unsupported(
      "echo",
      "echo is not supported by local models; use /score for prompt log-probabilities",
    );
  if (typeof req.suffix === "string" && req.suffix !== "") {
    throw unsupported("suffix", "suffix (fill-in-the-middle) is not supported by local models");
  }
  return {
    ...sampling(req),
    maxTokens: req.max_tokens ?? undefined,
    logprobs: req.logprobs ?? undefined,
  };
}

function sampling(req: Sampling): Omit<RequestSettings, "maxTokens" | "logprobs"> {
  if (req.n !== undefined && req.n !== null && req.n !== 1) {
    throw unsupported("n", "local models return one choice per prompt: n must be 1");
  }
  const stop =
    req.stop === undefined || req.stop === null
      ? []
      : typeof req.stop === "string"
        ? [req.stop]
        : req.stop;
  return {
    temperature: req.temperature ?? 1,
    topP: req.top_p ?? 1,
    seed: req.seed ?? randomInt(0, 2 ** 31),
    stop: stop.filter((s) => s !== ""),
    frequencyPenalty: req.frequency_penalty ?? 0,
    presencePenalty: req.presence_penalty ?? 0,
  };
}

/** Checks the prompt and max_tokens against the context and builds the generation params. */
export function generationParams(
  settings: RequestSettings,
  prompt: Token[],
  contextSize: number,
  extraStop: readonly string[],
  signal: AbortSignal,
  promptParam: "messages" | "prompt",
): GenerationParams {
  checkPromptFits(prompt.length, contextSize, promptParam);
  const room = contextSize - prompt.length;
  if (settings.maxTokens !== undefined && settings.maxTokens > room) {
    throw new KeelError(
      "context_length_exceeded",
      `max_tokens is ${settings.maxTokens} but the prompt (${prompt.length} tokens) leaves ${room} of this model's ${contextSize}-token context; set max_tokens to at most ${room}`,
      { param: "max_tokens" },
    );
  }
  return {
    prompt,
    maxTokens: settings.maxTokens ?? room,
    temperature: settings.temperature,
    topP: settings.topP,
    seed: settings.seed,
    frequencyPenalty: settings.frequencyPenalty,
    presencePenalty: settings.presencePenalty,
    stop: [...settings.stop, ...extraStop],
    logprobs: settings.logprobs,
    signal,
  };
}

/** A prompt must leave room for at least one generated (or scored) token. */
export function checkPromptFits(tokens: number, contextSize: number, param: string): void {
  if (tokens >= contextSize) {
    throw new KeelError(
      "context_length_exceeded",
      `the prompt is ${tokens} tokens but this model's context holds ${contextSize} (context_size); shorten the prompt`,
      { param },
    );
  }
}

function unsupported(param: string, message: string): KeelError {
  return new KeelError("unsupported", `${param}: ${message}`, { param });
}
