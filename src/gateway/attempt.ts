import { performance } from "node:perf_hooks";
import { KeelError, isKeelError } from "../core/errors.ts";
import type { Metrics } from "../monitoring/metrics.ts";
import type { Attempt, AttemptOutcome } from "../traces/schema.ts";
import type { Call } from "./call.ts";
import type { BreakerPermit, BreakerVerdict } from "./circuit-breaker.ts";
import type { Deployment } from "./deployment.ts";

/**
 * One upstream try on one deployment. It owns the attempt's abort signal (the call's abort
 * plus the deployment's timeout), the deployment's in-flight count and breaker permit, and
 * the `Attempt` record in the trace.
 *
 * The timeout covers a whole non-streamed call. On a stream it is the longest wait for the
 * next chunk: `touch()` on each chunk restarts it, so a long generation is never cut while it
 * keeps producing, and a stream that stalls is.
 */
export class AttemptHandle {
  readonly deployment: Deployment;
  readonly record: Attempt;
  readonly #call: Call;
  readonly #permit: BreakerPermit;
  readonly #metrics: Metrics;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #startedPerf = performance.now();
  #timedOut = false;
  #settled = false;

  constructor(call: Call, deployment: Deployment, permit: BreakerPermit, metrics: Metrics) {
    this.#call = call;
    this.deployment = deployment;
    this.#permit = permit;
    this.#metrics = metrics;
    this.record = {
      deployment: deployment.label,
      provider: deployment.provider.name,
      upstream_model: deployment.upstreamModel,
      started_at: Date.now(),
      latency_ms: 0,
      outcome: "ok",
    };
    call.attempts.push(this.record);
    deployment.inFlight += 1;
    this.#timer = setTimeout(this.#onTimeout, deployment.timeoutMs);
    if (call.signal.aborted) this.#onCallAbort();
    else call.signal.addEventListener("abort", this.#onCallAbort, { once: true });
  }

  /** Passed to the provider: aborted by the client, the shutdown, or the timeout. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A streamed chunk arrived: restart the stall timeout. */
  touch(): void {
    this.#timer.refresh();
  }

  /** The provider answered (for a stream: its first chunk). Feeds lowest-latency routing. */
  answered(): void {
    this.deployment.observeLatency(performance.now() - this.#startedPerf);
  }

  /**
   * Ends the attempt: `error` undefined for success. Returns the error as the KeelError the
   * gateway acts on (a timeout becomes `provider_timeout`, an abort the call's reason).
   */
  settle(error?: unknown): KeelError | undefined {
    if (this.#settled) return undefined;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#call.signal.removeEventListener("abort", this.#onCallAbort);
    this.deployment.inFlight -= 1;
    const latency = performance.now() - this.#startedPerf;
    this.record.latency_ms = Math.round(latency);

    let verdict: BreakerVerdict = "success";
    let failure: KeelError | undefined;
    if (error !== undefined) {
      failure = this.#classify(error);
      this.record.outcome = outcomeOf(failure, this.#call.signal.aborted);
      this.record.http_status = failure.status;
      this.record.error_code = failure.code;
      this.record.error_message = failure.message;
      verdict = this.#call.signal.aborted || !failure.retryable ? "neutral" : "failure";
    }
    this.deployment.breaker.release(this.#permit, verdict);
    const series = this.#metrics.byModel
      .get(this.deployment.model)
      .deployment(this.deployment.label);
    series.attempts(this.record.outcome).inc();
    series.attemptLatency.observe(latency / 1000);
    return failure;
  }

  #classify(error: unknown): KeelError {
    if (this.#call.signal.aborted) return this.#call.abortReason;
    if (this.#timedOut) {
      return new KeelError(
        "provider_timeout",
        `deployment ${this.deployment.label} did not answer within ${this.deployment.timeoutMs} ms ` +
          `(deployments[].timeout_ms)`,
        { retryable: true },
      );
    }
    if (isKeelError(error)) return error;
    // The contract says providers throw KeelError; anything else is a broken call, and another
    // deployment may well succeed.
    const message = error instanceof Error ? error.message : String(error);
    return new KeelError(
      "provider_error",
      `deployment ${this.deployment.label} failed: ${message}`,
      {
        status: 502,
        retryable: true,
        cause: error,
      },
    );
  }

  readonly #onTimeout = (): void => {
    this.#timedOut = true;
    this.#controller.abort(
      new KeelError("provider_timeout", `deployment ${this.deployment.label} timed out`),
    );
  };

  readonly #onCallAbort = (): void => {
    this.#controller.abort(this.#call.signal.reason);
  };
}

function outcomeOf(error: KeelError, aborted: boolean): AttemptOutcome {
  if (aborted) return "aborted";
  if (error.code === "provider_timeout") return "timeout";
  if (error.code === "rate_limited" || error.status === 429) return "rate_limited";
  return "error";
}
