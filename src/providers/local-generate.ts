import type {
  ControlledEvaluateInputItem,
  LlamaContextSequence,
  LlamaModel,
  SequenceEvaluateOptions,
  Token,
} from "node-llama-cpp";
import { KeelError } from "../core/errors.ts";
import { logprobOf, topLogprobs, type TokenLogprob } from "./local-logprobs.ts";
import { seededRandom } from "../core/random.ts";
import { countTokens, sampleFromLogits } from "./local-sampling.ts";
import { TextAssembler } from "./local-text-stream.ts";

/**
 * One generation on one context sequence: the prompt is evaluated (reusing whatever prefix the
 * sequence still holds from its previous request), then tokens are produced one by one and
 * released as text pieces until an end-of-generation token, a stop sequence, `maxTokens`, or
 * the signal aborts (which throws `client_closed` and stops evaluation at once).
 *
 * Without logprobs, tokens come from `sequence.evaluate` (llama.cpp samples natively). With
 * logprobs, each step goes through `controlledEvaluate` to read the logits as well, and each
 * token's logprob is reported just before the token is yielded.
 */
export interface GenerationParams {
  prompt: Token[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  frequencyPenalty: number;
  presencePenalty: number;
  stop: readonly string[];
  /** Undefined: no logprobs; otherwise how many alternatives to report per token. */
  logprobs: number | undefined;
  signal: AbortSignal;
}

export interface GenerationChunk {
  text: string;
  logprobs: TokenLogprob[];
}

export interface GenerationResult {
  finishReason: "stop" | "length";
  promptTokens: number;
  completionTokens: number;
}

export async function* generate(
  model: LlamaModel,
  sequence: LlamaContextSequence,
  params: GenerationParams,
): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
  const tail = await reusePrefix(sequence, params.prompt);
  const generated: Token[] = [];
  const assembler = new TextAssembler<TokenLogprob | undefined>(
    (tokens, last) => model.detokenize(tokens, false, last),
    params.stop,
  );
  // The fast path iterates llama.cpp's own generator, with no wrapper per token.
  let logprob: TokenLogprob | undefined;
  const tokens =
    params.logprobs === undefined
      ? sequence.evaluate(tail, evaluateOptions(params, generated))
      : scoredSteps(sequence, tail, params, generated, (lp) => (logprob = lp));
  let finishReason: GenerationResult["finishReason"] = "length";
  if (params.maxTokens > 0) {
    for await (const token of tokens) {
      if (params.signal.aborted) throw cancelled();
      if (model.isEogToken(token)) {
        finishReason = "stop";
        break;
      }
      generated.push(token);
      const piece = assembler.push(token, logprob);
      if (piece !== undefined) yield toChunk(piece.text, piece.data);
      if (assembler.stopped) {
        finishReason = "stop";
        break;
      }
      if (generated.length >= params.maxTokens) break;
    }
  }
  if (params.signal.aborted) throw cancelled();
  const rest = assembler.finish();
  if (rest !== undefined) yield toChunk(rest.text, rest.data);
  return { finishReason, promptTokens: params.prompt.length, completionTokens: generated.length };
}

function toChunk(text: string, data: (TokenLogprob | undefined)[]): GenerationChunk {
  return { text, logprobs: data.filter((d): d is TokenLogprob => d !== undefined) };
}

function cancelled(): KeelError {
  return new KeelError("client_closed", "generation stopped: the request was cancelled");
}

/**
 * Keeps the sequence's cached prefix that matches the prompt (a follow-up chat turn only
 * evaluates its new tokens) and returns the tokens still to evaluate. The last prompt token is
 * always evaluated again, since its logits pick the first generated token.
 */
export async function reusePrefix(
  sequence: LlamaContextSequence,
  prompt: readonly Token[],
): Promise<Token[]> {
  const { firstDifferentIndex } = sequence.compareContextTokens([...prompt]);
  const keep = Math.min(firstDifferentIndex, prompt.length - 1);
  if (sequence.nextTokenIndex > keep) {
    await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
  }
  return prompt.slice(keep);
}

function penalties(params: GenerationParams, generated: Token[]) {
  if (params.frequencyPenalty === 0 && params.presencePenalty === 0) return {};
  return {
    repeatPenalty: {
      punishTokens: () => generated,
      maxPunishTokens: Math.min(Math.max(params.maxTokens, 64), 4096),
      penalty: 1,
      frequencyPenalty: params.frequencyPenalty,
      presencePenalty: params.presencePenalty,
    },
  };
}

function evaluateOptions(params: GenerationParams, generated: Token[]): SequenceEvaluateOptions {
  return {
    temperature: params.temperature,
    topP: params.topP,
    topK: 0,
    minP: 0,
    seed: params.seed,
    yieldEogToken: true,
    ...penalties(params, generated),
  };
}

async function* scoredSteps(
  sequence: LlamaContextSequence,
  tail: Token[],
  params: GenerationParams,
  generated: Token[],
  onLogprob: (logprob: TokenLogprob) => void,
): AsyncGenerator<Token> {
  const top = params.logprobs ?? 0;
  const greedy = params.temperature === 0;
  const random = seededRandom(params.seed);
  let input: Token[] = tail;
  for (;;) {
    const last = input.length - 1;
    const generateNext = greedy
      ? {
          token: true,
          totalLogitWeight: true,
          logits: { filter: { tokens: [], includeTop: Math.max(1, top), includeSelected: true } },
          options: { temperature: 0, ...penalties(params, generated) },
        }
      : { logits: true, totalLogitWeight: true, options: { temperature: 0 } };
    const items: ControlledEvaluateInputItem[] = input.map((t, i) =>
      i < last ? t : [t, { generateNext }],
    );
    const next = (await sequence.controlledEvaluate(items))[last]?.next;
    if (next?.logits === undefined || next.totalLogitWeight === undefined) {
      throw new KeelError("provider_error", "the local model returned no logits for a step");
    }
    const token = greedy
      ? next.token
      : sampleFromLogits(next.logits, samplingOf(params), countTokens(generated), random);
    if (token === undefined || token === null) return;
    onLogprob({
      token,
      logprob: logprobOf(next.logits, next.totalLogitWeight, token),
      top: topLogprobs(next.logits, next.totalLogitWeight, top),
    });
    yield token;
    input = [token];
  }
}

function samplingOf(params: GenerationParams) {
  return {
    temperature: params.temperature,
    topP: params.topP,
    frequencyPenalty: params.frequencyPenalty,
    presencePenalty: params.presencePenalty,
  };
}
