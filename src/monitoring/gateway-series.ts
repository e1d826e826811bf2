import type { Counter, Gauge, Histogram } from "prom-client";
import { ChildCache, CounterChild, GaugeChild, HistogramChild } from "./labelled-child.ts";

/** The metrics a gateway request updates, as `createMetrics` defines them. */
export interface GatewayMetrics {
  requests: Counter<"endpoint" | "model" | "status" | "code">;
  latency: Histogram<"endpoint" | "model" | "stream">;
  ttft: Histogram<"model">;
  tokens: Counter<"model" | "kind">;
  costMicros: Counter<"model">;
  attempts: Counter<"model" | "deployment" | "outcome">;
  attemptLatency: Histogram<"model" | "deployment">;
  retries: Counter<"model" | "deployment">;
  fallbacks: Counter<"model">;
  inFlight: Gauge<"model">;
}

/**
 * One public model's series, so a request updates its metrics without building label sets.
 * Each label object lists its labels in the order the gateway always gave them: prom-client
 * renders a series' labels in the order of the object that created it.
 */
export class ModelSeries {
  readonly inFlight: GaugeChild<"model">;
  readonly ttft: HistogramChild<"model">;
  readonly promptTokens: CounterChild<"model" | "kind">;
  readonly completionTokens: CounterChild<"model" | "kind">;
  readonly costMicros: CounterChild<"model">;
  readonly fallbacks: CounterChild<"model">;
  readonly #requests: ChildCache<string, ChildCache<string | undefined, CounterChild<string>>>;
  readonly #latency: Record<"true" | "false", ChildCache<string, HistogramChild<string>>>;
  readonly #deployments: ChildCache<string, DeploymentSeries>;

  constructor(metrics: GatewayMetrics, model: string) {
    this.inFlight = new GaugeChild(metrics.inFlight, { model });
    this.ttft = new HistogramChild(metrics.ttft, { model });
    this.promptTokens = new CounterChild(metrics.tokens, { model, kind: "prompt" });
    this.completionTokens = new CounterChild(metrics.tokens, { model, kind: "completion" });
    this.costMicros = new CounterChild(metrics.costMicros, { model });
    this.fallbacks = new CounterChild(metrics.fallbacks, { model });
    this.#requests = new ChildCache(
      (endpoint) =>
        new ChildCache(
          (code) =>
            new CounterChild(metrics.requests, {
              endpoint,
              model,
              status: code === undefined ? "ok" : "error",
              code: code ?? "",
            }),
        ),
    );
    const latency = (stream: "true" | "false") =>
      new ChildCache(
        (endpoint: string) => new HistogramChild(metrics.latency, { endpoint, model, stream }),
      );
    this.#latency = { true: latency("true"), false: latency("false") };
    this.#deployments = new ChildCache((label) => new DeploymentSeries(metrics, model, label));
  }

  /** The requests counter for a call that ended with `code`, undefined for success. */
  requests(endpoint: string, code: string | undefined): CounterChild<string> {
    return this.#requests.get(endpoint).get(code);
  }

  latency(endpoint: string, stream: boolean): HistogramChild<string> {
    return this.#latency[stream ? "true" : "false"].get(endpoint);
  }

  deployment(label: string): DeploymentSeries {
    return this.#deployments.get(label);
  }
}

/** One deployment's series, under the public model it serves. */
export class DeploymentSeries {
  readonly attemptLatency: HistogramChild<"model" | "deployment">;
  readonly retries: CounterChild<"model" | "deployment">;
  readonly #attempts: ChildCache<string, CounterChild<string>>;

  constructor(metrics: GatewayMetrics, model: string, deployment: string) {
    this.attemptLatency = new HistogramChild(metrics.attemptLatency, { model, deployment });
    this.retries = new CounterChild(metrics.retries, { model, deployment });
    this.#attempts = new ChildCache(
      (outcome) => new CounterChild(metrics.attempts, { model, deployment, outcome }),
    );
  }

  attempts(outcome: string): CounterChild<string> {
    return this.#attempts.get(outcome);
  }
}
