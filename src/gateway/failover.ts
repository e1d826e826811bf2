import { setTimeout as sleep } from "node:timers/promises";
import { KeelError } from "../core/errors.ts";
import type { Metrics } from "../monitoring/metrics.ts";
import { AttemptHandle } from "./attempt.ts";
import { retryDelay } from "./backoff.ts";
import type { Call } from "./call.ts";
import type { Deployment } from "./deployment.ts";

/**
 * Runs a call against a model's deployments until one answers:
 *
 * - Priority groups in order; inside a group the model's strategy picks, preferring a
 *   deployment this request has not tried yet. At most `retry.max_attempts` attempts per group;
 *   then (or when every deployment of the group has its breaker open) the next group
 *   (counted in `metrics.fallbacks`).
 * - Only retryable errors (429, 5xx, timeouts, broken connections) lead to another attempt; any
 *   other error is the answer. An abort (client gone, shutdown) stops at once.
 * - Retrying a deployment already tried waits first: full-jitter exponential backoff, or the
 *   upstream's Retry-After when it fits in `max_delay_ms` and the request's time budget;
 *   when it does not, the group is given up instead of sleeping. Moving to another deployment
 *   does not wait.
 * - When no deployment could even be tried because every breaker is open: 503
 *   `no_healthy_deployment`, with one `circuit_open` attempt per skipped deployment.
 */

export interface FailoverOptions {
  metrics: Metrics;
  random: () => number;
  /**
   * Settle the successful attempt at once (non-streamed calls). A stream's attempt stays open
   * until the stream ends, so its outcome, latency and breaker verdict cover the whole stream.
   */
  settleOnSuccess: boolean;
}

export interface Answered<T> {
  value: T;
  attempt: AttemptHandle;
}

export async function runWithFailover<T>(
  call: Call,
  needs: number,
  invoke: (deployment: Deployment, signal: AbortSignal) => Promise<T>,
  options: FailoverOptions,
): Promise<Answered<T>> {
  const route = call.route;
  const groups = route.groupsFor(needs);
  const maxAttempts = route.retry.max_attempts;
  let last: KeelError | undefined;
  let total = 0;

  for (let g = 0; g < groups.length; g++) {
    if (g > 0) options.metrics.byModel.get(route.name).fallbacks.inc();
    const index = groups[g]!;
    const tried: Deployment[] = [];
    const errors: KeelError[] = [];
    let inGroup = 0;
    // Each turn either makes an attempt or finds a deployment's breaker newly open, so the
    // loop is bounded by attempts plus deployments.
    for (let turn = 0; inGroup < maxAttempts && turn < maxAttempts + tried.length + 8; turn++) {
      if (call.signal.aborted) throw call.abortReason;
      const deployment = route.pick(index, needs, tried);
      if (deployment === undefined) break;
      const earlier = tried.lastIndexOf(deployment);
      if (earlier >= 0) {
        const delay = retryDelay({
          retry: inGroup,
          config: route.retry,
          retryAfterMs: errors[earlier]!.retryAfterMs,
          remainingMs: call.remainingMs(),
          random: options.random,
        });
        if (delay === undefined) break;
        if (delay > 0) await pause(delay, call);
      }
      const permit = deployment.breaker.acquire();
      if (permit === undefined) continue;
      inGroup += 1;
      total += 1;
      if (total > 1)
        options.metrics.byModel.get(route.name).deployment(deployment.label).retries.inc();
      const attempt = new AttemptHandle(call, deployment, permit, options.metrics);
      try {
        const value = await invoke(deployment, attempt.signal);
        attempt.answered();
        if (options.settleOnSuccess) attempt.settle();
        return { value, attempt };
      } catch (err) {
        const failure = attempt.settle(err) ?? call.abortReason;
        if (call.signal.aborted) throw call.abortReason;
        if (!failure.retryable) throw failure;
        last = failure;
        tried.push(deployment);
        errors.push(failure);
      }
    }
  }
  if (last === undefined) throw noHealthyDeployment(call, needs, options.metrics);
  throw exhausted(call, last, total);
}

async function pause(ms: number, call: Call): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: call.signal });
  } catch {
    throw call.abortReason;
  }
}

function noHealthyDeployment(call: Call, needs: number, metrics: Metrics): KeelError {
  const route = call.route;
  const now = Date.now();
  const open = route.deployments.filter((d) => d.supports(needs) && !d.breaker.canPass());
  for (const d of open) {
    call.attempts.push({
      deployment: d.label,
      provider: d.provider.name,
      upstream_model: d.upstreamModel,
      started_at: now,
      latency_ms: 0,
      outcome: "circuit_open",
      error_code: "no_healthy_deployment",
      error_message: "circuit breaker open after repeated failures",
    });
    metrics.byModel.get(route.name).deployment(d.label).attempts("circuit_open").inc();
  }
  const labels = open.map((d) => d.label).join(", ");
  return new KeelError(
    "no_healthy_deployment",
    `no healthy deployment for model "${route.name}": the circuit breaker is open for ${labels} ` +
      `after repeated upstream failures; retry shortly`,
  );
}

/** The error the client gets when every allowed attempt failed with a retryable error. */
function exhausted(call: Call, last: KeelError, total: number): KeelError {
  const plural = total === 1 ? "attempt" : "attempts";
  return new KeelError(
    last.code,
    `model "${call.route.name}": ${total} ${plural} failed; last error: ${last.message}`,
    {
      // An upstream 500 reaches the client as 502: the gateway's upstream failed, not Keel.
      status: last.code === "provider_error" ? 502 : last.status,
      retryable: true,
      ...(last.retryAfterMs === undefined ? {} : { retryAfterMs: last.retryAfterMs }),
      details: { attempts: total, upstream_status: last.status },
      cause: last,
    },
  );
}
