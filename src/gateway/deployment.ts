import type { DeploymentConfig } from "../core/config-schema.ts";
import type { Provider } from "../providers/provider.ts";
import type { CircuitBreaker } from "./circuit-breaker.ts";
import type { Pickable } from "./strategies.ts";

/**
 * What a request may need from a deployment's provider, as bits: a request needing `needs`
 * can go to a deployment when `(deployment.capabilities & needs) === needs`.
 */
export const Capability = {
  chat: 1,
  completions: 2,
  streamCompletions: 4,
  embeddings: 8,
  logprobs: 16,
  tools: 32,
} as const;

export const capabilityNames: Record<number, string> = {
  [Capability.chat]: "chat completions",
  [Capability.completions]: "text completions",
  [Capability.streamCompletions]: "streamed text completions",
  [Capability.embeddings]: "embeddings",
  [Capability.logprobs]: "logprobs",
  [Capability.tools]: "tools",
};

function capabilitiesOf(provider: Provider): number {
  const c = provider.capabilities;
  let bits = 0;
  if (c.chat) bits |= Capability.chat;
  if (c.completions && provider.completion !== undefined) bits |= Capability.completions;
  if (c.completions && provider.streamCompletion !== undefined) {
    bits |= Capability.streamCompletions;
  }
  if (c.embeddings && provider.embed !== undefined) bits |= Capability.embeddings;
  if (c.logprobs) bits |= Capability.logprobs;
  if (c.tools) bits |= Capability.tools;
  return bits;
}

/** Weight of the newest latency sample in the moving average. */
const LATENCY_EWMA_ALPHA = 0.3;

/** One deployment of a public model, with the state routing keeps about it. */
export class Deployment implements Pickable {
  /** `provider/upstream-model`: the label in traces and metrics. */
  readonly label: string;
  /** The public model this deployment serves. */
  readonly model: string;
  readonly provider: Provider;
  readonly upstreamModel: string;
  readonly weight: number;
  readonly priority: number;
  readonly timeoutMs: number;
  readonly capabilities: number;
  readonly breaker: CircuitBreaker;
  /** Attempts in progress on this deployment. */
  inFlight = 0;
  /** Moving average of successful attempt latency in ms; undefined until measured. */
  latencyEwma: number | undefined;

  constructor(
    model: string,
    config: DeploymentConfig,
    provider: Provider,
    breaker: CircuitBreaker,
  ) {
    this.label = `${config.provider}/${config.model}`;
    this.model = model;
    this.provider = provider;
    this.upstreamModel = config.model;
    this.weight = config.weight;
    this.priority = config.priority;
    this.timeoutMs = config.timeout_ms;
    this.capabilities = capabilitiesOf(provider);
    this.breaker = breaker;
  }

  supports(needs: number): boolean {
    return (this.capabilities & needs) === needs;
  }

  observeLatency(ms: number): void {
    this.latencyEwma =
      this.latencyEwma === undefined
        ? ms
        : this.latencyEwma + LATENCY_EWMA_ALPHA * (ms - this.latencyEwma);
  }
}
