import type { KeelError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../monitoring/metrics.ts";
import type { TraceSink } from "../traces/schema.ts";
import type { Call } from "./call.ts";
import type { QuotaStage } from "./quota-stage.ts";
import { buildTrace, type CallResult } from "./trace-builder.ts";
import { costMicros, type TokenCounts } from "./usage.ts";

export const NO_TOKENS: TokenCounts = { prompt_tokens: 0, completion_tokens: 0, estimated: false };

/**
 * Keeps the calls in progress (for the in-flight gauge and the shutdown's abort) and records
 * each finished one: its trace goes to the sink (never awaited, never thrown into the
 * request), its outcome into the metrics, and its usage settles its quota reservation.
 */
export class CallTracker {
  readonly #traces: TraceSink;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #keepBodies: boolean;
  readonly #quotas: QuotaStage | undefined;
  readonly #active = new Set<Call>();

  constructor(deps: {
    traces: TraceSink;
    metrics: Metrics;
    logger: Logger;
    keepBodies: boolean;
    quotas?: QuotaStage;
  }) {
    this.#quotas = deps.quotas;
    this.#traces = deps.traces;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
    this.#keepBodies = deps.keepBodies;
  }

  get keepBodies(): boolean {
    return this.#keepBodies;
  }

  begin(call: Call): void {
    this.#active.add(call);
    this.#metrics.byModel.get(call.route.name).inFlight.inc();
  }

  /** Aborts every call in progress with `reason`. */
  abortAll(reason: KeelError): void {
    for (const call of this.#active) call.abort(reason);
  }

  /** Records a call that ended; the cost is computed here from `tokens`. */
  finish(call: Call, result: Omit<CallResult, "costMicros">): void {
    if (!this.#active.delete(call)) return;
    call.dispose();
    const endedAt = Date.now();
    const { prompt_tokens, completion_tokens } = result.tokens;
    const cost = costMicros(call.route.price, prompt_tokens, completion_tokens);
    this.#quotas?.settle(call, result.tokens, cost);
    const error = result.error;
    const m = this.#metrics.byModel.get(call.route.name);
    m.inFlight.dec();
    m.requests(call.endpoint, error?.code).inc();
    m.latency(call.endpoint, call.stream).observe(call.elapsedMs() / 1000);
    if (call.stream && call.ttftMs !== null) m.ttft.observe(call.ttftMs / 1000);
    if (prompt_tokens > 0) m.promptTokens.inc(prompt_tokens);
    if (completion_tokens > 0) m.completionTokens.inc(completion_tokens);
    if (cost > 0) m.costMicros.inc(cost);

    try {
      this.#traces.enqueue(
        buildTrace(call, { ...result, costMicros: cost }, endedAt, this.#keepBodies),
      );
    } catch (err) {
      // The sink promises not to throw; if it does, the request must not pay for it.
      this.#logger.error({ err, trace_id: call.traceId }, "trace could not be queued");
    }
  }
}
