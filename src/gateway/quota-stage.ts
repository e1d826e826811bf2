import type { QuotaGuard } from "../quotas/index.ts";
import type { Call } from "./call.ts";
import { costMicros, type TokenCounts } from "./usage.ts";

/**
 * Quotas on the request path. Before the upstream call, `reserve` takes the call's estimate
 * (input tokens + the completion's cap, and their cost at the route's price) from the key's
 * and the project's limits at once, or throws `rate_limited` (429 with Retry-After); the
 * reservation rides on the call. When the call is recorded, `settle` replaces the estimate
 * with what it really used: the answer's tokens, a cut or aborted stream's tokens so far, or
 * nothing for a call that failed before any answer.
 *
 * A key with no limits whose project has none costs nothing here: no store round trip.
 */

/** The completion tokens reserved when a request sets no `max_tokens`. */
export const DEFAULT_COMPLETION_ESTIMATE = 512;

/** `max_completion_tokens` or `max_tokens` (or the default), for every choice asked for. */
export function completionCap(req: {
  max_tokens?: number | null | undefined;
  max_completion_tokens?: number | null | undefined;
  n?: number | null | undefined;
}): number {
  const perChoice = req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_COMPLETION_ESTIMATE;
  return perChoice * (req.n ?? 1);
}

export class QuotaStage {
  readonly #guard: QuotaGuard | undefined;

  constructor(guard: QuotaGuard | undefined) {
    this.#guard = guard;
  }

  /**
   * Reserves the call's estimate; resolves at once (no await needed) when the caller has no
   * limits. Throws `rate_limited` over a limit, `quota_unavailable` when the store is down and
   * the failure policy is closed.
   */
  reserve(
    call: Call,
    promptTokens: number,
    maxCompletionTokens: number,
  ): Promise<void> | undefined {
    const guard = this.#guard;
    const { keyId, projectId, keyLimits, projectLimits } = call.identity;
    if (guard === undefined || keyId === null) return undefined;
    if (keyLimits === null && projectLimits === null) return undefined;
    const tokens = promptTokens + maxCompletionTokens;
    const estimate = {
      tokens,
      costMicros: costMicros(call.route.price, promptTokens, maxCompletionTokens),
    };
    return guard
      .admit({
        keyId,
        keyLimits: keyLimits ?? undefined,
        projectId: projectId ?? "",
        projectLimits: projectLimits ?? undefined,
        estimate,
      })
      .then((reservation) => {
        call.reservation = reservation;
      });
  }

  /** Never throws; the guard logs a failed correction. */
  settle(call: Call, tokens: TokenCounts, cost: number): void {
    const reservation = call.reservation;
    if (reservation === undefined || this.#guard === undefined) return;
    call.reservation = undefined;
    const used = tokens.prompt_tokens + tokens.completion_tokens;
    void this.#guard.settle(reservation, { tokens: used, costMicros: cost });
  }
}
