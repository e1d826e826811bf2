import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { KeelError } from "../core/errors.ts";
import {
  generate,
  type GenerationChunk,
  type GenerationParams,
  type GenerationResult,
} from "./local-generate.ts";
import type { TokenLogprob } from "./local-logprobs.ts";

/**
 * Running work on a leased context sequence. A sequence keeps its evaluated tokens between
 * requests (the next prompt reuses the common prefix); when work fails for any reason but a
 * cancel, that cache may be inconsistent, so it is cleared before the sequence is given back.
 */
export async function guard<T>(sequence: LlamaContextSequence, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (err) {
    await forgetOnFailure(sequence, err);
    throw err;
  }
}

async function forgetOnFailure(sequence: LlamaContextSequence, err: unknown): Promise<void> {
  if (err instanceof KeelError && err.code === "client_closed") return;
  await sequence.clearHistory().catch(() => undefined);
}

export interface CollectedGeneration {
  text: string;
  logprobs: TokenLogprob[];
  result: GenerationResult;
}

/** A whole generation, for non-streaming calls. */
export function collect(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  params: GenerationParams,
): Promise<CollectedGeneration> {
  return guard(sequence, async () => {
    let text = "";
    const logprobs: TokenLogprob[] = [];
    const run = generate(model, sequence, params);
    for (;;) {
      const step = await run.next();
      if (step.done === true) return { text, logprobs, result: step.value };
      text += step.value.text;
      logprobs.push(...step.value.logprobs);
    }
  });
}

/** A generation as a stream: one mapped value per text piece; returns the result. */
export async function* streamPieces<T>(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  params: GenerationParams,
  map: (chunk: GenerationChunk) => T,
): AsyncGenerator<T, GenerationResult, undefined> {
  const run = generate(model, sequence, params);
  try {
    for (;;) {
      const step = await run.next();
      if (step.done === true) return step.value;
      yield map(step.value);
    }
  } catch (err) {
    await forgetOnFailure(sequence, err);
    throw err;
  } finally {
    // A consumer that stops early must also end llama.cpp's evaluation (and its lock).
    await run.return({ finishReason: "stop", promptTokens: 0, completionTokens: 0 });
  }
}

/** A completions prompt: BOS (when the model wants it) + the text, special tokens as text. */
export function completionPrompt(model: LlamaModel, prompt: string): Token[] {
  const bos = model.tokens.bos;
  const tokens = model.tokenize(prompt, false);
  if (bos !== null && model.tokens.shouldPrependBosToken) tokens.unshift(bos);
  if (tokens.length === 0) {
    throw new KeelError("invalid_request", "prompt must not be empty", { param: "prompt" });
  }
  return tokens;
}
