import type { ModelConfig, PriceConfig, RetryConfig } from "../core/config-schema.ts";
import { KeelError } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";
import type { ProviderSet } from "../providers/registry.ts";
import { CircuitBreaker, type BreakerState } from "./circuit-breaker.ts";
import { capabilityNames, Deployment } from "./deployment.ts";
import { RouteGuardrails } from "./route-guardrails.ts";
import { createStrategy, type Strategy } from "./strategies.ts";

/**
 * A public model's routing table: its deployments grouped by priority (lowest first), one
 * load-balancing strategy per group, and a circuit breaker per deployment.
 */

export interface RouterOptions {
  /** Milliseconds clock for the circuit breakers. */
  now: () => number;
  random: () => number;
  onBreakerChange: (deployment: Deployment, state: BreakerState) => void;
  /** The key for guardrails' `hash` redaction (derived from the master key), if any. */
  redactionKey?: Secret | undefined;
}

export class ModelRoute {
  readonly name: string;
  readonly kind: ModelConfig["kind"];
  readonly price: PriceConfig | undefined;
  readonly retry: RetryConfig;
  readonly guardrails: RouteGuardrails;
  readonly deployments: readonly Deployment[];
  readonly groups: readonly (readonly Deployment[])[];
  readonly #strategies: readonly Strategy<Deployment>[];
  readonly #groupsByNeeds = new Map<number, readonly number[]>();

  constructor(config: ModelConfig, providers: ProviderSet, options: RouterOptions) {
    this.name = config.name;
    this.kind = config.kind;
    this.price = config.price;
    this.retry = config.retry;
    this.guardrails = new RouteGuardrails(config.name, config.guardrails, options.redactionKey);
    this.deployments = config.deployments.map((d, i) => {
      const provider = providers.get(d.provider);
      if (provider === undefined) {
        throw new KeelError(
          "config_invalid",
          `models.${config.name}.deployments.${i}.provider: provider "${d.provider}" is not configured`,
        );
      }
      const breaker = new CircuitBreaker(config.circuit_breaker, {
        now: options.now,
        onStateChange: (state) => options.onBreakerChange(deployment, state),
      });
      const deployment: Deployment = new Deployment(config.name, d, provider, breaker);
      return deployment;
    });
    const priorities = [...new Set(this.deployments.map((d) => d.priority))].sort((a, b) => a - b);
    this.groups = priorities.map((p) => this.deployments.filter((d) => d.priority === p));
    this.#strategies = this.groups.map(() =>
      createStrategy<Deployment>(config.strategy, options.random),
    );
  }

  /**
   * Indexes of the priority groups that hold a deployment able to serve a request needing
   * `needs`, in fallback order. Throws `unsupported` when no deployment can.
   */
  groupsFor(needs: number): readonly number[] {
    const cached = this.#groupsByNeeds.get(needs);
    if (cached !== undefined) return cached;
    const indexes: number[] = [];
    this.groups.forEach((group, i) => {
      if (group.some((d) => d.supports(needs))) indexes.push(i);
    });
    if (indexes.length === 0) throw this.#unsupported(needs);
    this.#groupsByNeeds.set(needs, indexes);
    return indexes;
  }

  /**
   * Picks a deployment of group `index` for a request needing `needs`: one whose breaker lets
   * calls through, preferring one this request has not tried yet.
   */
  pick(index: number, needs: number, tried: readonly Deployment[]): Deployment | undefined {
    const group = this.groups[index];
    const strategy = this.#strategies[index];
    if (group === undefined || strategy === undefined) return undefined;
    const fresh = strategy.pick(
      group,
      (d) => d.supports(needs) && !tried.includes(d) && d.breaker.canPass(),
    );
    if (fresh !== undefined || tried.length === 0) return fresh;
    return strategy.pick(group, (d) => d.supports(needs) && d.breaker.canPass());
  }

  #unsupported(needs: number): KeelError {
    const missing: string[] = [];
    for (const [bit, name] of Object.entries(capabilityNames)) {
      const flag = Number(bit);
      if ((needs & flag) !== 0 && !this.deployments.some((d) => d.supports(flag))) {
        missing.push(name);
      }
    }
    const providers = [...new Set(this.deployments.map((d) => d.provider.name))].join(", ");
    const what =
      missing.length > 0
        ? missing.join(" and ")
        : Object.entries(capabilityNames)
            .filter(([bit]) => (needs & Number(bit)) !== 0)
            .map(([, name]) => name)
            .join(" and ") + " together";
    return new KeelError(
      "unsupported",
      `model "${this.name}" does not support ${what} (its providers: ${providers}); remove the ` +
        `parameter or use a model whose provider supports it`,
    );
  }
}

export function buildRoutes(
  models: readonly ModelConfig[],
  providers: ProviderSet,
  options: RouterOptions,
): Map<string, ModelRoute> {
  const routes = new Map<string, ModelRoute>();
  for (const model of models) routes.set(model.name, new ModelRoute(model, providers, options));
  return routes;
}
