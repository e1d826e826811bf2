import type { Config } from "../core/config.ts";
import type { ProviderConfig } from "../core/config-schema.ts";
import type { Logger } from "../core/logger.ts";
import { createAnthropicProvider } from "./anthropic.ts";
import { createLocalProvider } from "./local.ts";
import { createOpenAICompatibleProvider } from "./openai-compatible.ts";
import type { Provider, ProviderContext } from "./provider.ts";

/**
 * Provider types, as data: adding a provider is adding a file and a line here.
 */
type Factory<T extends ProviderConfig["type"]> = (
  name: string,
  config: Extract<ProviderConfig, { type: T }>,
  ctx: ProviderContext,
) => Provider;

const factories: { [T in ProviderConfig["type"]]: Factory<T> } = {
  "openai-compatible": createOpenAICompatibleProvider,
  anthropic: createAnthropicProvider,
  local: createLocalProvider,
};

export interface ProviderSet {
  get(name: string): Provider | undefined;
  all(): Provider[];
  /** Loads local models; failures are logged and surface through health checks. */
  warmup(): Promise<void>;
  close(): Promise<void>;
}

export function createProviders(
  config: Config,
  base: { dataDir: string; logger: Logger },
): ProviderSet {
  const providers = new Map<string, Provider>();
  for (const [name, providerConfig] of Object.entries(config.providers)) {
    const ctx: ProviderContext = {
      dataDir: base.dataDir,
      logger: base.logger.child({ provider: name }),
      apiKey: config.providerKeys[name],
    };
    const factory = factories[providerConfig.type] as Factory<typeof providerConfig.type>;
    providers.set(name, factory(name, providerConfig, ctx));
  }
  return {
    get: (name) => providers.get(name),
    all: () => [...providers.values()],
    warmup: async () => {
      await Promise.all(
        [...providers.values()].map(async (p) => {
          try {
            await p.warmup?.();
          } catch (err) {
            base.logger.error({ err, provider: p.name }, "provider warm-up failed");
          }
        }),
      );
    },
    close: async () => {
      await Promise.allSettled([...providers.values()].map((p) => p.close()));
    },
  };
}
