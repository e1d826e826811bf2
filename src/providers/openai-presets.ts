import type { OpenAICompatibleProviderConfig } from "../core/config-schema.ts";
import type { ProviderCapabilities } from "./provider.ts";

/**
 * The OpenAI-compatible engines Keel knows, as data over one provider class: where each
 * listens by default and what it can do. Explicit config keys (`base_url`) win over these.
 */
export type OpenAIPresetName = NonNullable<OpenAICompatibleProviderConfig["preset"]>;

export interface OpenAIPreset {
  /** Where the engine listens when started with its defaults; none for `generic`. */
  baseUrl: string | undefined;
  capabilities: ProviderCapabilities;
}

const full: ProviderCapabilities = {
  chat: true,
  completions: true,
  embeddings: true,
  logprobs: true,
  tools: true,
  score: false,
};

export const openAIPresets = {
  openai: { baseUrl: "https://api.openai.com/v1", capabilities: full },
  vllm: { baseUrl: "http://127.0.0.1:8000/v1", capabilities: full },
  // Ollama's OpenAI layer returns no token logprobs.
  ollama: {
    baseUrl: "http://127.0.0.1:11434/v1",
    capabilities: { ...full, logprobs: false },
  },
  // Embeddings need the server started with --embeddings; the endpoint answers either way.
  "llama-cpp-server": { baseUrl: "http://127.0.0.1:8080/v1", capabilities: full },
  // TGI serves generation only (embeddings are TEI, a separate server).
  tgi: {
    baseUrl: "http://127.0.0.1:8080/v1",
    capabilities: { ...full, embeddings: false },
  },
  generic: { baseUrl: undefined, capabilities: full },
} as const satisfies Record<OpenAIPresetName, OpenAIPreset>;

/** The preset a provider config names, `generic` when it names none. */
export function openAIPreset(name: OpenAIPresetName | undefined): OpenAIPreset {
  return openAIPresets[name ?? "generic"];
}
