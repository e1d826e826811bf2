import { z } from "zod";

/**
 * Keel's canonical wire format: the OpenAI chat completions, completions and embeddings
 * shapes. The gateway validates requests with these schemas; providers translate to and
 * from them at the edge. Objects are loose: unknown and provider-specific fields pass through
 * untouched unless a translation needs them.
 */

const contentPartSchema = z.looseObject({ type: z.string() });

export const chatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPartSchema), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.looseObject({})).optional(),
  tool_call_id: z.string().optional(),
});

export const stopSchema = z.union([z.string(), z.array(z.string()).max(4)]);

const samplingFields = {
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stop: stopSchema.nullish(),
  max_tokens: z.number().int().positive().nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().optional(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
};

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(chatMessageSchema).min(1, "messages must contain at least one message"),
  ...samplingFields,
  max_completion_tokens: z.number().int().positive().nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  tool_choice: z.unknown().optional(),
});

export const completionRequestSchema = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).min(1)]),
  ...samplingFields,
  logprobs: z.number().int().min(0).max(20).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
});

export const embeddingRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});

/** Keel's own: the log-probability of `continuation` given `prompt`, token by token. */
export const scoreRequestSchema = z.object({
  model: z.string().min(1),
  prompt: z.string(),
  continuation: z.string().min(1),
});

export const usageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});

const topLogprobSchema = z.looseObject({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number()).nullish(),
});

export const chatLogprobsSchema = z.looseObject({
  content: z.array(topLogprobSchema.extend({ top_logprobs: z.array(topLogprobSchema) })).nullable(),
});

export const chatCompletionSchema = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      message: z.looseObject({
        role: z.literal("assistant"),
        content: z.string().nullable(),
        tool_calls: z.array(z.looseObject({})).optional(),
      }),
      finish_reason: z.string().nullable(),
      logprobs: chatLogprobsSchema.nullish(),
    }),
  ),
  usage: usageSchema.nullish(),
});

export const chatCompletionChunkSchema = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.number(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      delta: z.looseObject({
        role: z.string().optional(),
        content: z.string().nullish(),
        tool_calls: z.array(z.looseObject({})).optional(),
      }),
      finish_reason: z.string().nullish(),
      logprobs: chatLogprobsSchema.nullish(),
    }),
  ),
  usage: usageSchema.nullish(),
});

export const completionLogprobsSchema = z.looseObject({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullable(),
  text_offset: z.array(z.number()),
});

export const completionSchema = z.looseObject({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      text: z.string(),
      finish_reason: z.string().nullable(),
      logprobs: completionLogprobsSchema.nullish(),
    }),
  ),
  usage: usageSchema.nullish(),
});

export const embeddingResponseSchema = z.looseObject({
  object: z.literal("list"),
  data: z.array(
    z.looseObject({
      object: z.literal("embedding"),
      index: z.number().int(),
      embedding: z.union([z.array(z.number()), z.string()]),
    }),
  ),
  model: z.string(),
  usage: z.looseObject({
    prompt_tokens: z.number().int().nonnegative(),
    total_tokens: z.number().int().nonnegative(),
  }),
});

export const scoreResponseSchema = z.object({
  model: z.string(),
  tokens: z.array(z.object({ token: z.string(), logprob: z.number() })),
  total_logprob: z.number(),
});

export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;
export type ScoreRequest = z.infer<typeof scoreRequestSchema>;
export type Usage = z.infer<typeof usageSchema>;
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;
export type ChatLogprobs = z.infer<typeof chatLogprobsSchema>;
export type Completion = z.infer<typeof completionSchema>;
export type CompletionChunk = Completion; // streamed completions reuse the shape, one piece at a time
export type EmbeddingResponse = z.infer<typeof embeddingResponseSchema>;
export type ScoreResponse = z.infer<typeof scoreResponseSchema>;
