import type { AnthropicProviderConfig } from "../core/config-schema.ts";
import { AnthropicChunkStream } from "./anthropic-chunk-stream.ts";
import { anthropicMessageSchema, toChatCompletion } from "./anthropic-response.ts";
import { AnthropicStreamTranslator } from "./anthropic-stream.ts";
import { toAnthropicRequest } from "./anthropic-translate.ts";
import type {
  CallOptions,
  HealthResult,
  Provider,
  ProviderCapabilities,
  ProviderContext,
} from "./provider.ts";
import type { ChatCompletion, ChatRequest } from "./schema.ts";
import { UpstreamClient } from "./upstream-http.ts";

/**
 * Anthropic's Messages API behind Keel's OpenAI-shaped contract: requests and answers are
 * translated at this edge (`anthropic-translate.ts`, `anthropic-response.ts`,
 * `anthropic-stream.ts`, streamed by `anthropic-chunk-stream.ts`). Chat only: Anthropic serves
 * no completions or embeddings.
 */
export function createAnthropicProvider(
  name: string,
  config: AnthropicProviderConfig,
  ctx: ProviderContext,
): Provider {
  return new AnthropicProvider(name, config, ctx);
}

const capabilities: ProviderCapabilities = {
  chat: true,
  completions: false,
  embeddings: false,
  logprobs: false,
  tools: true,
  score: false,
};

class AnthropicProvider implements Provider {
  readonly name: string;
  readonly type = "anthropic" as const;
  readonly capabilities: ProviderCapabilities = { ...capabilities };
  readonly #client: UpstreamClient;

  constructor(name: string, config: AnthropicProviderConfig, ctx: ProviderContext) {
    this.name = name;
    const apiKey = ctx.apiKey;
    const extra: Record<string, string> = {};
    for (const [key, value] of Object.entries(config.headers)) extra[key.toLowerCase()] = value;
    this.#client = new UpstreamClient({
      provider: name,
      baseUrlField: `providers.${name}.base_url`,
      baseUrl: config.base_url,
      connections: config.max_connections,
      secret: apiKey,
      headers: () => ({
        "content-type": "application/json",
        "anthropic-version": config.version,
        ...(apiKey === undefined ? {} : { "x-api-key": apiKey.reveal() }),
        ...extra,
      }),
    });
  }

  async chat(req: ChatRequest, { signal }: CallOptions): Promise<ChatCompletion> {
    const body = toAnthropicRequest(req, false);
    const message = await this.#client.json(
      this.#path("/messages"),
      body,
      anthropicMessageSchema,
      "message",
      signal,
    );
    return toChatCompletion(message);
  }

  stream(req: ChatRequest, { signal }: CallOptions): AnthropicChunkStream {
    // Built on the first read, as the body of a generator would be: a request Anthropic
    // cannot honour fails there, and nothing is sent before it.
    return new AnthropicChunkStream(this.name, (end) => {
      const body = toAnthropicRequest(req, true);
      const translator = new AnthropicStreamTranslator({
        provider: this.name,
        includeUsage: req.stream_options?.include_usage !== false,
        created: Math.floor(Date.now() / 1000),
        scrub: (text) => this.#client.scrub(text),
      });
      const events = this.#client.events(this.#path("/messages"), body, signal, end);
      return { events, translator };
    });
  }

  health(): Promise<HealthResult> {
    return this.#client.health(this.#path("/models"));
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  /** API paths live under /v1; a base_url that already ends in /v1 is taken as it is. */
  #path(suffix: string): string {
    return this.#client.basePath.endsWith("/v1") ? suffix : `/v1${suffix}`;
  }
}
