import type { ModelConfig } from "../core/config-schema.ts";

/**
 * Load-balancing strategies inside one priority group. Each picks one deployment among those
 * the caller deems eligible (breaker not open, not already tried by this request, …) without
 * allocating on the common path.
 *
 * - weighted: random, proportional to `weight` (all-zero weights: uniform).
 * - round-robin: the next eligible deployment after the last one picked.
 * - least-in-flight: the fewest calls in progress; ties broken at random.
 * - lowest-latency: deployments never measured first (so each gets measured), then the lowest
 *   EWMA of successful attempt latency; ties broken at random.
 */

export type StrategyName = ModelConfig["strategy"];

export interface Pickable {
  readonly weight: number;
  readonly inFlight: number;
  readonly latencyEwma: number | undefined;
}

export interface Strategy<T extends Pickable> {
  pick(group: readonly T[], eligible: (d: T) => boolean): T | undefined;
}

export function createStrategy<T extends Pickable>(
  name: StrategyName,
  random: () => number = Math.random,
): Strategy<T> {
  switch (name) {
    case "weighted":
      return { pick: (group, eligible) => pickWeighted(group, eligible, random) };
    case "round-robin":
      return roundRobin<T>();
    case "least-in-flight":
      return { pick: (group, eligible) => pickLowest(group, eligible, (d) => d.inFlight, random) };
    case "lowest-latency":
      return { pick: (group, eligible) => pickLowestLatency(group, eligible, random) };
  }
}

function pickWeighted<T extends Pickable>(
  group: readonly T[],
  eligible: (d: T) => boolean,
  random: () => number,
): T | undefined {
  let total = 0;
  let count = 0;
  for (const d of group) {
    if (!eligible(d)) continue;
    total += d.weight;
    count += 1;
  }
  if (count === 0) return undefined;
  if (total <= 0) return nthEligible(group, eligible, Math.floor(random() * count));
  let r = random() * total;
  let last: T | undefined;
  for (const d of group) {
    if (!eligible(d) || d.weight <= 0) continue;
    last = d;
    r -= d.weight;
    if (r < 0) return d;
  }
  return last; // floating-point rounding left r at ~0
}

function roundRobin<T extends Pickable>(): Strategy<T> {
  let cursor = 0;
  return {
    pick(group, eligible) {
      const n = group.length;
      for (let i = 0; i < n; i++) {
        const index = (cursor + i) % n;
        const d = group[index]!;
        if (eligible(d)) {
          cursor = (index + 1) % n;
          return d;
        }
      }
      return undefined;
    },
  };
}

/** The eligible deployment with the lowest `score`; ties broken uniformly at random. */
function pickLowest<T extends Pickable>(
  group: readonly T[],
  eligible: (d: T) => boolean,
  score: (d: T) => number,
  random: () => number,
): T | undefined {
  let best = Infinity;
  let ties = 0;
  for (const d of group) {
    if (!eligible(d)) continue;
    const s = score(d);
    if (s < best) {
      best = s;
      ties = 1;
    } else if (s === best) {
      ties += 1;
    }
  }
  if (ties === 0) return undefined;
  return nthEligible(group, (d) => eligible(d) && score(d) === best, Math.floor(random() * ties));
}

function pickLowestLatency<T extends Pickable>(
  group: readonly T[],
  eligible: (d: T) => boolean,
  random: () => number,
): T | undefined {
  // Never-measured deployments score -1, so they are tried before any measured one.
  return pickLowest(group, eligible, (d) => d.latencyEwma ?? -1, random);
}

function nthEligible<T>(
  group: readonly T[],
  eligible: (d: T) => boolean,
  n: number,
): T | undefined {
  let seen = 0;
  let last: T | undefined;
  for (const d of group) {
    if (!eligible(d)) continue;
    if (seen === n) return d;
    last = d;
    seen += 1;
  }
  return last;
}
