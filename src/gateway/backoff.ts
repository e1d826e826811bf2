import type { RetryConfig } from "../core/config-schema.ts";

/**
 * How long to wait before retrying the same deployment.
 *
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): retry n waits a uniformly random time in [0, min(max_delay, base × 2^(n-1))].
 *
 * An upstream `Retry-After` is honoured exactly when it fits: when it is longer than
 * `max_delay_ms` or than what is left of the request's time budget, the caller should not
 * sleep on this deployment but move on (another deployment, the next priority group, or the
 * client with the 429 and its Retry-After).
 */

export function backoffDelay(
  retry: number,
  config: Pick<RetryConfig, "base_delay_ms" | "max_delay_ms">,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, retry - 1);
  const ceiling = Math.min(config.max_delay_ms, config.base_delay_ms * 2 ** exponent);
  return Math.floor(random() * (ceiling + 1));
}

export interface RetryDelayInput {
  /** 1 for the first retry. */
  retry: number;
  config: Pick<RetryConfig, "base_delay_ms" | "max_delay_ms">;
  /** The upstream's Retry-After, in ms, when it sent one. */
  retryAfterMs: number | undefined;
  /** Milliseconds left before the request's deadline. */
  remainingMs: number;
  random?: () => number;
}

/** Milliseconds to sleep before retrying the same deployment, or undefined to move on. */
export function retryDelay(input: RetryDelayInput): number | undefined {
  const { retryAfterMs, config, remainingMs } = input;
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > config.max_delay_ms || retryAfterMs >= remainingMs) return undefined;
    return retryAfterMs;
  }
  const delay = backoffDelay(input.retry, config, input.random);
  if (delay >= remainingMs) return undefined;
  return delay;
}
