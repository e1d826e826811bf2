import type {
  ControlledEvaluateInputItem,
  LlamaContextSequence,
  LlamaModel,
  Token,
} from "node-llama-cpp";
import { KeelError } from "../core/errors.ts";
import { logprobOf } from "./local-logprobs.ts";
import { reusePrefix } from "./local-generate.ts";

/**
 * Prompt scoring: the log-probability of `continuation` after `prompt`, token by token, from
 * one evaluation of prompt + continuation with logits read at every continuation position.
 * The continuation's tokens are those of `prompt + continuation` past the prompt's own tokens
 * (as lm-evaluation-harness does), so a word split across the boundary is scored as the model
 * would see it in running text.
 */
export interface ScoredToken {
  token: Token;
  logprob: number;
}

export function splitContinuation(
  model: LlamaModel,
  prompt: string,
  continuation: string,
): { context: Token[]; continuation: Token[] } {
  const bos = model.tokens.bos;
  const withBos = (tokens: Token[]) =>
    bos !== null && model.tokens.shouldPrependBosToken ? [bos, ...tokens] : tokens;
  const context = withBos(model.tokenize(prompt, false));
  const whole = withBos(model.tokenize(prompt + continuation, false));
  const sharesPrefix = context.every((t, i) => whole[i] === t);
  const rest = sharesPrefix
    ? whole.slice(context.length)
    : model.tokenize(continuation, false, "trimLeadingSpace");
  if (context.length === 0) {
    throw new KeelError(
      "invalid_request",
      "prompt must not be empty: this model has no beginning-of-sequence token to score from",
      { param: "prompt" },
    );
  }
  if (rest.length === 0) {
    throw new KeelError("invalid_request", "continuation produced no tokens", {
      param: "continuation",
    });
  }
  return { context, continuation: rest };
}

export async function scoreContinuation(
  sequence: LlamaContextSequence,
  context: readonly Token[],
  continuation: readonly Token[],
): Promise<ScoredToken[]> {
  const all = [...context, ...continuation];
  const firstScored = context.length - 1; // logits here predict continuation[0]
  let tail = await reusePrefix(sequence, all);
  if (all.length - tail.length > firstScored) {
    // The cached prefix covers scored positions: evaluate them again to read their logits.
    await sequence.eraseContextTokenRanges([{ start: firstScored, end: sequence.nextTokenIndex }]);
    tail = all.slice(firstScored);
  }
  const offset = all.length - tail.length;
  const items: ControlledEvaluateInputItem[] = tail.map((token, i) => {
    const position = offset + i;
    const next = all[position + 1];
    if (position < firstScored || next === undefined) return token;
    return [
      token,
      {
        generateNext: {
          totalLogitWeight: true,
          logits: { filter: { tokens: [next], includeTop: 1 } },
          options: { temperature: 0 },
        },
      },
    ];
  });
  const results = await sequence.controlledEvaluate(items);
  return continuation.map((token, j) => {
    const next = results[firstScored + j - offset]?.next;
    if (next?.logits === undefined || next.totalLogitWeight === undefined) {
      throw new KeelError("provider_error", "the local model returned no logits while scoring");
    }
    return { token, logprob: logprobOf(next.logits, next.totalLogitWeight, token) };
  });
}
