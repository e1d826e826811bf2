import { performance } from "node:perf_hooks";
import type { Identity } from "../auth/index.ts";
import { KeelError } from "../core/errors.ts";
import type { GuardrailDecision } from "../guardrails/index.ts";
import type { Reservation } from "../quotas/index.ts";
import type { Attempt, TraceEndpoint } from "../traces/schema.ts";
import type { ModelRoute } from "./router.ts";

/** What the HTTP layer tells the gateway about a request. */
export interface RequestMeta {
  /** The id the trace will carry (also sent to the client as `x-keel-trace-id`). */
  traceId: string;
  requestId: string;
  userAgent: string | undefined;
  /** Aborted when the client goes away before the answer is complete. */
  signal: AbortSignal;
  /** Who is calling: the models it may use, its project (for the trace) and its limits. */
  identity: Identity;
}

/**
 * One /v1 request as the gateway follows it: which model, every attempt made, and the abort
 * signal that the client's disconnect or the server's shutdown fires.
 */
export class Call {
  readonly traceId: string;
  readonly requestId: string;
  readonly userAgent: string | undefined;
  readonly identity: Identity;
  readonly endpoint: TraceEndpoint;
  readonly route: ModelRoute;
  readonly stream: boolean;
  /** Epoch ms. */
  readonly startedAt: number;
  /** performance.now() at the start, for durations. */
  readonly startedPerf: number;
  /** Epoch ms after which no retry is worth starting (the server's request timeout). */
  readonly deadline: number;
  readonly attempts: Attempt[] = [];
  /** Milliseconds from the start to the first content byte; null until then. */
  ttftMs: number | null = null;
  /** What each guardrail decided, for the trace (types and counts, never values). */
  readonly guardrails: GuardrailDecision[] = [];
  /** The quota reservation taken before the upstream call; settled when the call is recorded. */
  reservation: Reservation | undefined = undefined;
  readonly #controller = new AbortController();
  readonly #clientSignal: AbortSignal;

  constructor(
    meta: RequestMeta,
    endpoint: TraceEndpoint,
    route: ModelRoute,
    stream: boolean,
    budgetMs: number,
  ) {
    this.traceId = meta.traceId;
    this.requestId = meta.requestId;
    this.userAgent = meta.userAgent;
    this.identity = meta.identity;
    this.endpoint = endpoint;
    this.route = route;
    this.stream = stream;
    this.startedAt = Date.now();
    this.startedPerf = performance.now();
    this.deadline = budgetMs > 0 ? this.startedAt + budgetMs : Infinity;
    this.#clientSignal = meta.signal;
    if (meta.signal.aborted) this.abort(clientClosed());
    else meta.signal.addEventListener("abort", this.#onClientAbort, { once: true });
  }

  /** Fires when the client disconnects or the server shuts down. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The reason the call was aborted, as a KeelError. */
  get abortReason(): KeelError {
    const reason: unknown = this.#controller.signal.reason;
    return reason instanceof KeelError ? reason : clientClosed();
  }

  abort(reason: KeelError): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  elapsedMs(): number {
    return performance.now() - this.startedPerf;
  }

  remainingMs(): number {
    return this.deadline - Date.now();
  }

  markFirstToken(): void {
    if (this.ttftMs === null) this.ttftMs = Math.round(this.elapsedMs());
  }

  /** Stops listening to the client's signal; called once the call is recorded. */
  dispose(): void {
    this.#clientSignal.removeEventListener("abort", this.#onClientAbort);
  }

  readonly #onClientAbort = (): void => {
    this.abort(clientClosed());
  };
}

function clientClosed(): KeelError {
  return new KeelError(
    "client_closed",
    "the client closed the connection before the answer was complete",
  );
}
