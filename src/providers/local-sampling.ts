import type { Token } from "node-llama-cpp";

/**
 * Sampling in JS from the full logits of one step, used when logprobs are requested at a
 * temperature above 0 (llama.cpp's sampler would only report the logits it already rescaled).
 * Order, as in llama.cpp: repetition penalties, top_p, temperature, then a draw from a seeded
 * generator, so the same seed gives the same text.
 */
export interface SamplingOptions {
  temperature: number;
  topP: number;
  frequencyPenalty: number;
  presencePenalty: number;
}

export function sampleFromLogits(
  logits: ReadonlyMap<Token, number>,
  options: SamplingOptions,
  counts: ReadonlyMap<Token, number>,
  random: () => number,
): Token {
  const entries: [Token, number][] = [];
  for (const [token, logit] of logits) {
    const seen = counts.get(token) ?? 0;
    const penalty = seen > 0 ? seen * options.frequencyPenalty + options.presencePenalty : 0;
    entries.push([token, logit - penalty]);
  }
  entries.sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) throw new Error("no logits to sample from");
  const max = entries[0]![1];

  // Probabilities at temperature 1 decide the top_p nucleus (llama.cpp applies top_p first).
  let weights = entries.map(([, logit]) => Math.exp(logit - max));
  let total = weights.reduce((a, b) => a + b, 0);
  let keep = entries.length;
  if (options.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < entries.length; i++) {
      cumulative += weights[i]! / total;
      if (cumulative >= options.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  const kept = entries.slice(0, keep);
  weights = kept.map(([, logit]) => Math.exp((logit - max) / options.temperature));
  total = weights.reduce((a, b) => a + b, 0);
  let draw = random() * total;
  for (let i = 0; i < kept.length; i++) {
    draw -= weights[i]!;
    if (draw < 0) return kept[i]![0];
  }
  return kept[kept.length - 1]![0];
}

export function countTokens(tokens: readonly Token[]): Map<Token, number> {
  const counts = new Map<Token, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}
