import type { z } from "zod";
import type { OpenAICompatibleProviderConfig } from "../core/config-schema.ts";
import { KeelError } from "../core/errors.ts";
import { malformedResponse, streamErrorEvent } from "./http-errors.ts";
import {
  isPlainChatChunk,
  isPlainChatCompletion,
  isPlainCompletion,
  type FastCheck,
} from "./openai-fast-checks.ts";
import { OpenAIChunkStream } from "./openai-chunk-stream.ts";
import { openAIPreset } from "./openai-presets.ts";
import type {
  CallOptions,
  HealthResult,
  Provider,
  ProviderCapabilities,
  ProviderContext,
} from "./provider.ts";
import {
  chatCompletionChunkSchema,
  chatCompletionSchema,
  completionSchema,
  embeddingResponseSchema,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatRequest,
  type Completion,
  type CompletionChunk,
  type CompletionRequest,
  type EmbeddingRequest,
  type EmbeddingResponse,
} from "./schema.ts";
import { parseAnswer, UpstreamClient } from "./upstream-http.ts";

/**
 * One provider for every engine that speaks the OpenAI API (OpenAI, vLLM, Ollama, llama.cpp
 * server, TGI); the differences are preset data. Requests go upstream as the client sent them,
 * unknown and provider-specific fields included; answers are checked with the canonical zod
 * schemas before they go further (plain answers through a structural fast check that accepts
 * only what the schema would, see `openai-fast-checks.ts`).
 */
export function createOpenAICompatibleProvider(
  name: string,
  config: OpenAICompatibleProviderConfig,
  ctx: ProviderContext,
): Provider {
  return new OpenAICompatibleProvider(name, config, ctx);
}

type StreamOptions = ChatRequest["stream_options"];

/** How a stream's chunks are checked: the schema, its fast check, the name errors use. */
interface ChunkCheck<T extends z.ZodType> {
  schema: T;
  fast: FastCheck;
  what: string;
}

class OpenAICompatibleProvider implements Provider {
  readonly name: string;
  readonly type = "openai-compatible" as const;
  readonly capabilities: ProviderCapabilities;
  readonly #client: UpstreamClient;
  readonly #streamUsage: boolean;

  constructor(name: string, config: OpenAICompatibleProviderConfig, ctx: ProviderContext) {
    const preset = openAIPreset(config.preset);
    const baseUrl = config.base_url ?? preset.baseUrl;
    const field = `providers.${name}.base_url`;
    if (baseUrl === undefined) {
      throw new KeelError(
        "config_invalid",
        `${field}: required, because preset "${config.preset ?? "generic"}" has no default URL ` +
          `(set base_url, e.g. http://127.0.0.1:8000/v1, or a preset such as vllm or ollama)`,
        { param: field },
      );
    }
    this.name = name;
    this.capabilities = { ...preset.capabilities };
    this.#streamUsage = config.stream_usage;
    const apiKey = ctx.apiKey;
    const extra = lowerCaseKeys(config.headers);
    this.#client = new UpstreamClient({
      provider: name,
      baseUrlField: field,
      baseUrl,
      connections: config.max_connections,
      secret: apiKey,
      headers: () =>
        apiKey === undefined
          ? { "content-type": "application/json", ...extra }
          : {
              "content-type": "application/json",
              authorization: `Bearer ${apiKey.reveal()}`,
              ...extra,
            },
    });
  }

  async chat(req: ChatRequest, { signal }: CallOptions): Promise<ChatCompletion> {
    return this.#client.json(
      "/chat/completions",
      unaryBody(req),
      chatCompletionSchema,
      "chat completion",
      signal,
      isPlainChatCompletion,
    );
  }

  stream(
    req: ChatRequest,
    { signal }: CallOptions,
  ): AsyncIterableIterator<ChatCompletionChunk, undefined> {
    const body = streamBody(req, this.#streamUsage);
    return this.#sse(
      "/chat/completions",
      body,
      { schema: chatCompletionChunkSchema, fast: isPlainChatChunk, what: "chat chunk" },
      signal,
    );
  }

  async completion(req: CompletionRequest, { signal }: CallOptions): Promise<Completion> {
    this.#require("completions");
    return this.#client.json(
      "/completions",
      unaryBody(req),
      completionSchema,
      "completion",
      signal,
      isPlainCompletion,
    );
  }

  streamCompletion(
    req: CompletionRequest,
    { signal }: CallOptions,
  ): AsyncIterableIterator<CompletionChunk, undefined> {
    const body = streamBody(req, this.#streamUsage);
    return this.#sse(
      "/completions",
      body,
      { schema: completionSchema, fast: isPlainCompletion, what: "completion chunk" },
      signal,
      // Checked on the first read, as an async generator's body would be.
      () => this.#require("completions"),
    );
  }

  async embed(req: EmbeddingRequest, { signal }: CallOptions): Promise<EmbeddingResponse> {
    this.#require("embeddings");
    return this.#client.json("/embeddings", req, embeddingResponseSchema, "embedding list", signal);
  }

  health(): Promise<HealthResult> {
    return this.#client.health("/models");
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  #sse<T extends z.ZodType<{ choices: { finish_reason?: string | null | undefined }[] }>>(
    path: string,
    body: unknown,
    check: ChunkCheck<T>,
    signal: AbortSignal,
    precheck?: () => void,
  ): OpenAIChunkStream<z.output<T>> {
    return new OpenAIChunkStream(
      (end) => {
        precheck?.();
        return this.#client.events(path, body, signal, end);
      },
      {
        parse: (text) => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            throw malformedResponse(this.name, check.what);
          }
        },
        check: (data) => this.#checkChunk(data, check),
      },
    );
  }

  /** A chunk as the schema accepts it; an error event (as some engines send) throws. */
  #checkChunk<T extends z.ZodType>(data: unknown, check: ChunkCheck<T>): z.output<T> {
    if (data !== null && typeof data === "object" && "error" in data && !("choices" in data)) {
      throw streamErrorEvent(this.name, data, (text) => this.#client.scrub(text));
    }
    return parseAnswer(this.name, data, check.schema, check.what, check.fast);
  }

  #require(capability: "completions" | "embeddings"): void {
    if (this.capabilities[capability]) return;
    throw new KeelError("unsupported", `provider "${this.name}" does not serve ${capability}`);
  }
}

/** A non-streaming call: `stream_options` is only valid on streams, so it is dropped. */
function unaryBody<T extends { stream_options?: StreamOptions | undefined }>(
  req: T,
): Omit<T, "stream_options"> & { stream: false } {
  const { stream_options: _unused, ...rest } = req;
  return { ...rest, stream: false };
}

/** A streaming call, asking for the final usage chunk unless the client said otherwise. */
function streamBody<T extends { stream_options?: StreamOptions | undefined }>(
  req: T,
  streamUsage: boolean,
): T & { stream: true } {
  const options = req.stream_options ?? undefined;
  if (streamUsage && options?.include_usage === undefined) {
    return { ...req, stream: true, stream_options: { ...options, include_usage: true } };
  }
  const { stream_options: _unused, ...rest } = req;
  return (options === undefined ? { ...rest, stream: true } : { ...req, stream: true }) as T & {
    stream: true;
  };
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = value;
  return out;
}
