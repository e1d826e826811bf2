import type { Provider } from "../providers/provider.ts";
import type { ModelRoute } from "./router.ts";

export interface GatewayReadiness {
  ready: boolean;
  models: Record<string, { healthy: number; total: number }>;
}

/** A health check that has not answered by then counts as failed. */
const HEALTH_TIMEOUT_MS = 2_000;

/**
 * Ready when every model has at least one deployment whose provider reports healthy and whose
 * circuit breaker is not open. Each provider is asked once, however many models use it.
 */
export async function readiness(routes: Iterable<ModelRoute>): Promise<GatewayReadiness> {
  const list = [...routes];
  const providers = new Set<Provider>();
  for (const route of list) for (const d of route.deployments) providers.add(d.provider);
  const health = new Map<Provider, boolean>();
  await Promise.all([...providers].map(async (p) => health.set(p, await providerHealthy(p))));
  const models: GatewayReadiness["models"] = {};
  let ready = true;
  for (const route of list) {
    const healthy = route.deployments.filter(
      (d) => health.get(d.provider) === true && d.breaker.state !== "open",
    ).length;
    models[route.name] = { healthy, total: route.deployments.length };
    if (healthy === 0) ready = false;
  }
  return { ready, models };
}

async function providerHealthy(provider: Provider): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, HEALTH_TIMEOUT_MS, false);
  });
  try {
    const answer = provider.health().then(
      (h) => h.ok,
      () => false,
    );
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
