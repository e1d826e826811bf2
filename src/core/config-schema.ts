import { z } from "zod";
// The config file is one document validated once, so the sections that belong to domains are
// imported here from their schema files (zod-only modules with no logic behind them).
import { authConfigSchema } from "../auth/schema.ts";
import { guardrailsSchema } from "../guardrails/schema.ts";
import { quotasConfigSchema } from "../quotas/schema.ts";

/**
 * The shape of `keel.config.yaml`. Snake_case keys, as in the file. Everything has a default
 * so that an empty file (or none) is a working configuration.
 */

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const openAICompatibleProviderSchema = z
  .object({
    type: z.literal("openai-compatible"),
    /** Fills base_url and auth defaults for a known engine; explicit keys win. */
    preset: z.enum(["openai", "vllm", "ollama", "llama-cpp-server", "tgi", "generic"]).optional(),
    base_url: z.url().optional(),
    /** Name of the environment variable that holds the API key (never the key itself). */
    api_key_env: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Ask for `stream_options.include_usage` on streams (most engines support it). */
    stream_usage: z.boolean().default(true),
    max_connections: positiveInt.default(128),
  })
  .strict();

export const anthropicProviderSchema = z
  .object({
    type: z.literal("anthropic"),
    base_url: z.url().default("https://api.anthropic.com"),
    api_key_env: z.string().min(1).default("ANTHROPIC_API_KEY"),
    version: z.string().default("2023-06-01"),
    headers: z.record(z.string(), z.string()).default({}),
    max_connections: positiveInt.default(128),
  })
  .strict();

export const localProviderSchema = z
  .object({
    type: z.literal("local"),
    /** GGUF file. Without it Keel generates and serves its tiny test model. */
    model_path: z.string().min(1).optional(),
    /** CPU threads per context. 1 is fastest for tiny models on small machines; see the bench. */
    threads: positiveInt.optional(),
    batch_size: positiveInt.optional(),
    context_size: positiveInt.optional(),
    /** Concurrent sequences sharing the model. */
    parallel: positiveInt.default(2),
    /** Requests allowed to wait for a free sequence; beyond it: 429. */
    queue_limit: nonNegativeInt.default(32),
    /** Serve embeddings from this file too. */
    embeddings: z.boolean().default(true),
  })
  .strict();

export const providerSchema = z.discriminatedUnion("type", [
  openAICompatibleProviderSchema,
  anthropicProviderSchema,
  localProviderSchema,
]);

export const deploymentSchema = z
  .object({
    provider: z.string().min(1),
    /** The model name the provider knows. */
    model: z.string().min(1),
    weight: z.number().nonnegative().default(1),
    /** Lower runs first; a higher priority group is the fallback. */
    priority: nonNegativeInt.default(0),
    timeout_ms: positiveInt.default(60_000),
  })
  .strict();

/** Prices in USD per million tokens; stored costs are integer micro-dollars. */
export const priceSchema = z
  .object({
    input_per_mtok: z.number().nonnegative().default(0),
    output_per_mtok: z.number().nonnegative().default(0),
  })
  .strict();

export const retrySchema = z
  .object({
    max_attempts: positiveInt.default(3),
    base_delay_ms: nonNegativeInt.default(100),
    max_delay_ms: nonNegativeInt.default(5_000),
  })
  .strict();

export const circuitBreakerSchema = z
  .object({
    consecutive_failures: positiveInt.default(5),
    /** Opens when the error rate over the window exceeds this (with at least min_requests). */
    error_rate: z.number().min(0).max(1).default(0.5),
    window_ms: positiveInt.default(30_000),
    min_requests: positiveInt.default(20),
    open_ms: positiveInt.default(30_000),
    half_open_probes: positiveInt.default(1),
  })
  .strict();

export const modelKindSchema = z.enum(["chat", "embedding"]);

export const modelSchema = z
  .object({
    name: z.string().min(1),
    kind: modelKindSchema.default("chat"),
    strategy: z
      .enum(["weighted", "round-robin", "least-in-flight", "lowest-latency"])
      .default("weighted"),
    deployments: z.array(deploymentSchema).min(1),
    price: priceSchema.optional(),
    retry: retrySchema.prefault({}),
    circuit_breaker: circuitBreakerSchema.prefault({}),
    guardrails: guardrailsSchema.prefault({}),
  })
  .strict();

export const serverSchema = z
  .object({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(4141),
    data_dir: z.string().default("./.keel"),
    body_limit_bytes: positiveInt.default(4 * 1024 * 1024),
    /** How long a SIGTERM waits for in-flight requests and streams. */
    shutdown_grace_ms: positiveInt.default(10_000),
    request_timeout_ms: nonNegativeInt.default(300_000),
    log_level: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    /** One info line per finished request; traces record every /v1 request either way. */
    request_log: z.boolean().default(true),
  })
  .strict();

export const tracesSchema = z
  .object({
    /** `full` stores request and response bodies; `metadata` stores everything else. */
    bodies: z.enum(["full", "metadata"]).default("full"),
    queue_size: positiveInt.default(10_000),
    batch_size: positiveInt.default(200),
    flush_interval_ms: positiveInt.default(250),
    /** Encrypt request and response bodies at rest with the master key (AES-256-GCM). */
    encrypt: z.boolean().default(false),
    /** Deleting old traces; without `max_age_days` (the default) every trace is kept. */
    retention: z
      .object({
        /** Traces that started longer ago than this are deleted; absent or null: never. */
        max_age_days: z
          .number()
          .int()
          .positive({ error: "must be 1 or more days; leave it out to keep traces forever" })
          .nullable()
          .default(null),
        /** How often the pruner looks for old traces. */
        interval_minutes: positiveInt.default(10),
        /**
         * Rows deleted per statement. Each statement is short so that the trace writer and
         * the audit log, which share SQLite's one connection, wait for one batch at most.
         */
        batch_size: positiveInt.max(50_000).default(1_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const configFileSchema = z
  .object({
    server: serverSchema.prefault({}),
    database: z
      .object({ url: z.string().min(1).optional() })
      .strict()
      .prefault({}),
    redis: z
      .object({ url: z.string().min(1).optional() })
      .strict()
      .prefault({}),
    providers: z.record(z.string().min(1), providerSchema).default({}),
    models: z.array(modelSchema).default([]),
    traces: tracesSchema.prefault({}),
    auth: authConfigSchema.prefault({}),
    quotas: quotasConfigSchema.prefault({}),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type OpenAICompatibleProviderConfig = z.infer<typeof openAICompatibleProviderSchema>;
export type AnthropicProviderConfig = z.infer<typeof anthropicProviderSchema>;
export type LocalProviderConfig = z.infer<typeof localProviderSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type CircuitBreakerConfig = z.infer<typeof circuitBreakerSchema>;
export type PriceConfig = z.infer<typeof priceSchema>;
