import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { ModelSeries } from "./gateway-series.ts";
import { ChildCache } from "./labelled-child.ts";

/**
 * Keel's Prometheus metrics, one registry per server. Labels are bounded: public model names
 * and deployment labels come from the config, never from request input.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "keel_process_" });
  const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

  const metrics = {
    registry,
    requests: new Counter({
      name: "keel_gateway_requests_total",
      help: "Gateway requests by endpoint, public model and outcome",
      labelNames: ["endpoint", "model", "status", "code"] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: "keel_gateway_request_duration_seconds",
      help: "End-to-end gateway request duration",
      labelNames: ["endpoint", "model", "stream"] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    ttft: new Histogram({
      name: "keel_gateway_time_to_first_token_seconds",
      help: "Time from request to first streamed token",
      labelNames: ["model"] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    tokens: new Counter({
      name: "keel_gateway_tokens_total",
      help: "Tokens by public model and kind (prompt or completion)",
      labelNames: ["model", "kind"] as const,
      registers: [registry],
    }),
    costMicros: new Counter({
      name: "keel_gateway_cost_micro_usd_total",
      help: "Cost in micro-dollars from the configured price table",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    attempts: new Counter({
      name: "keel_gateway_attempts_total",
      help: "Upstream attempts by deployment and outcome",
      labelNames: ["model", "deployment", "outcome"] as const,
      registers: [registry],
    }),
    attemptLatency: new Histogram({
      name: "keel_gateway_attempt_duration_seconds",
      help: "Upstream attempt duration by deployment",
      labelNames: ["model", "deployment"] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    retries: new Counter({
      name: "keel_gateway_retries_total",
      help: "Retries of an upstream call",
      labelNames: ["model", "deployment"] as const,
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: "keel_gateway_fallbacks_total",
      help: "Requests that moved on to a lower-priority deployment group",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "keel_gateway_circuit_breaker_state",
      help: "Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open",
      labelNames: ["model", "deployment"] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "keel_gateway_in_flight_requests",
      help: "Requests being served now",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    quotaDenials: new Counter({
      name: "keel_quota_denials_total",
      help: "Calls refused by a quota, by limit and scope (key or project)",
      labelNames: ["limit", "scope"] as const,
      registers: [registry],
    }),
    quotaStoreFailures: new Counter({
      name: "keel_quota_store_failures_total",
      help: "Quota store (Redis) failures by operation and what the call got (open or closed)",
      labelNames: ["operation", "outcome"] as const,
      registers: [registry],
    }),
    traceQueueDepth: new Gauge({
      name: "keel_trace_queue_depth",
      help: "Traces waiting to be written",
      registers: [registry],
    }),
    traceDropped: new Counter({
      name: "keel_trace_dropped_total",
      help: "Traces dropped because the write queue was full or a write failed",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    traceWritten: new Counter({
      name: "keel_trace_written_total",
      help: "Traces written to storage",
      registers: [registry],
    }),
    tracePruned: new Counter({
      name: "keel_trace_pruned_total",
      help: "Traces deleted by the retention policy (traces.retention.max_age_days)",
      registers: [registry],
    }),
    tracePruneFailures: new Counter({
      name: "keel_trace_prune_failures_total",
      help: "Retention runs that failed (retried at the next interval)",
      registers: [registry],
    }),
  };
  return {
    ...metrics,
    /** The gateway's per-request series of a public model: updates skip label handling. */
    byModel: new ChildCache((model: string) => new ModelSeries(metrics, model)),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
