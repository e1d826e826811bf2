/**
 * Rate limits are sliding-window counters: one counter per fixed one-minute bucket, and the
 * usage "in the last minute" estimated as the previous bucket weighted by how much of it still
 * overlaps the sliding window, plus the current bucket:
 *
 *     used = previous × (window − elapsed) / window + current
 *
 * Why this and not the alternatives:
 * - A sliding-window log (one entry per request) is exact but costs memory and time per
 *   request; at gateway rates that is a sorted set of thousands of entries per key.
 * - GCRA / token bucket keeps one number per key but allows a full burst plus a minute of
 *   refill inside one minute (up to 2× the limit), which is not what "200 per minute" reads as.
 * - Two counters keep the cost of GCRA (two integers per limit, refunds are a decrement) and
 *   stay close to the true sliding window: the only error is assuming the previous minute's
 *   calls were spread evenly across it.
 *
 * The Redis Lua script (`redis-scripts.ts`) mirrors these functions line for line; the contract
 * tests run both stores through the same cases.
 */

export function windowUsage(
  previous: number,
  current: number,
  elapsedMs: number,
  windowMs: number,
): number {
  return (previous * (windowMs - elapsedMs)) / windowMs + current;
}

/** A counter refuses a cost that would take it past `max`, and anything once it is at `max`. */
export function exceedsLimit(used: number, cost: number, max: number): boolean {
  return used >= max || used + cost > max;
}

/**
 * How long until `cost` fits: first within the current bucket, as the previous bucket's weight
 * falls; otherwise in the next bucket, where the current one becomes the previous. A cost
 * larger than the limit never fits: the answer is then one full window.
 */
export function windowRetryAfterMs(
  previous: number,
  current: number,
  cost: number,
  max: number,
  elapsedMs: number,
  windowMs: number,
): number {
  if (cost > max) return windowMs;
  const room = max - cost - current;
  if (room >= 0 && previous > 0) {
    const at = windowMs - (room * windowMs) / previous;
    if (at < windowMs) return Math.max(1, Math.ceil(at - elapsedMs));
  }
  let nextAt = current > 0 ? windowMs - ((max - cost) * windowMs) / current : 0;
  if (nextAt < 0) nextAt = 0;
  return Math.max(1, Math.ceil(windowMs - elapsedMs + nextAt));
}
