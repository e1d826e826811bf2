import type { Logger } from "../core/logger.ts";
import type { Secret } from "../core/secret.ts";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ScoreRequest,
  ScoreResponse,
} from "./schema.ts";

/**
 * The Provider contract (version 1). A provider speaks Keel's canonical (OpenAI-shaped) types
 * and translates to its upstream at the edge. `req.model` is already the upstream model name.
 *
 * Failures are thrown as `KeelError`: `provider_error` (with `status` = the upstream HTTP
 * status, or 502 for a malformed answer or a broken connection), `provider_timeout`,
 * `rate_limited`, `context_length_exceeded`, `invalid_request`, `unsupported`, `queue_full`.
 * `retryable` says whether the same request may succeed on a retry or another deployment, and
 * `retryAfterMs` carries an upstream `Retry-After`.
 *
 * Streams are async iterables of canonical chunks. Nothing is sent upstream before the first
 * `next()`; an error thrown before the first chunk lets the gateway fail over, an error after
 * it ends the client's stream. Aborting `signal` cancels the upstream call and generation.
 */
export interface CallOptions {
  signal: AbortSignal;
}

export interface ProviderCapabilities {
  chat: boolean;
  completions: boolean;
  embeddings: boolean;
  /** Token logprobs on chat and completions. */
  logprobs: boolean;
  tools: boolean;
  score: boolean;
}

export interface HealthResult {
  ok: boolean;
  detail?: string;
}

export interface Provider {
  /** The provider's name in the config. */
  readonly name: string;
  readonly type: "openai-compatible" | "anthropic" | "local";
  readonly capabilities: ProviderCapabilities;

  chat(req: ChatRequest, options: CallOptions): Promise<ChatCompletion>;
  stream(req: ChatRequest, options: CallOptions): AsyncIterable<ChatCompletionChunk>;
  completion?(req: CompletionRequest, options: CallOptions): Promise<Completion>;
  streamCompletion?(req: CompletionRequest, options: CallOptions): AsyncIterable<CompletionChunk>;
  embed?(req: EmbeddingRequest, options: CallOptions): Promise<EmbeddingResponse>;
  score?(req: ScoreRequest, options: CallOptions): Promise<ScoreResponse>;

  /** Cheap liveness check; must not throw. */
  health(): Promise<HealthResult>;
  /** Loads what the provider needs before the first request (a local model). Optional. */
  warmup?(): Promise<void>;
  close(): Promise<void>;
}

/** What a provider factory receives besides its own config section. */
export interface ProviderContext {
  /** Absolute data directory (local models are generated and cached under it). */
  dataDir: string;
  logger: Logger;
  /** The API key resolved from `api_key_env`, when one is configured and set. */
  apiKey: Secret | undefined;
}
