export type {
  Provider,
  ProviderCapabilities,
  ProviderContext,
  CallOptions,
  HealthResult,
} from "./provider.ts";
export { createProviders, type ProviderSet } from "./registry.ts";
export {
  chatRequestSchema,
  completionRequestSchema,
  embeddingRequestSchema,
  scoreRequestSchema,
  type ChatRequest,
  type ChatMessage,
  type ChatCompletion,
  type ChatCompletionChunk,
  type Completion,
  type CompletionChunk,
  type CompletionRequest,
  type EmbeddingRequest,
  type EmbeddingResponse,
  type ScoreRequest,
  type ScoreResponse,
  type Usage,
} from "./schema.ts";
