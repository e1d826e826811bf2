import { z } from "zod";
import type { ChatCompletion, Usage } from "./schema.ts";

/**
 * Anthropic Messages answers → OpenAI chat completions, as pure functions: the zod schemas
 * that check an answer at the edge, the stop-reason and usage mappings the stream translator
 * shares.
 */

type Json = Record<string, unknown>;

export const anthropicUsageSchema = z.looseObject({
  input_tokens: z.number().int().nonnegative().nullish(),
  output_tokens: z.number().int().nonnegative().nullish(),
  cache_creation_input_tokens: z.number().int().nonnegative().nullish(),
  cache_read_input_tokens: z.number().int().nonnegative().nullish(),
});

const blockSchema = z.looseObject({ type: z.string() }).superRefine((block, ctx) => {
  const b = block as Json;
  if (block.type === "text" && typeof b.text !== "string") {
    ctx.addIssue({ code: "custom", message: "text block without text", path: ["text"] });
  }
  if (block.type === "tool_use" && (typeof b.id !== "string" || typeof b.name !== "string")) {
    ctx.addIssue({ code: "custom", message: "tool_use block without id or name", path: ["id"] });
  }
});

export const anthropicMessageSchema = z.looseObject({
  id: z.string(),
  type: z.literal("message"),
  role: z.literal("assistant"),
  model: z.string(),
  content: z.array(blockSchema),
  stop_reason: z.string().nullable(),
  usage: anthropicUsageSchema,
});

export type AnthropicMessage = z.infer<typeof anthropicMessageSchema>;
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

/** Anthropic's stop_reason → OpenAI's finish_reason. */
export function toFinishReason(stopReason: string | null | undefined): string | null {
  if (stopReason == null) return null;
  if (stopReason === "max_tokens" || stopReason === "model_context_window_exceeded")
    return "length";
  if (stopReason === "tool_use") return "tool_calls";
  if (stopReason === "refusal") return "content_filter";
  return "stop"; // end_turn, stop_sequence, pause_turn
}

export function toUsage(usage: AnthropicUsage): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const prompt = (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + cacheRead;
  const completion = usage.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(usage.cache_read_input_tokens == null
      ? {}
      : { prompt_tokens_details: { cached_tokens: cacheRead } }),
  };
}

/** An Anthropic message → an OpenAI chat completion. */
export function toChatCompletion(
  message: AnthropicMessage,
  created: number = Math.floor(Date.now() / 1000),
): ChatCompletion {
  const texts: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: Json[] = [];
  for (const block of message.content) {
    const b = block as Json;
    if (block.type === "text") texts.push(b.text as string);
    else if (block.type === "thinking" && typeof b.thinking === "string")
      reasoning.push(b.thinking);
    else if (block.type === "tool_use") {
      toolCalls.push({
        id: b.id,
        type: "function",
        function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
      });
    }
  }
  const content = texts.length > 0 ? texts.join("") : toolCalls.length > 0 ? null : "";
  return {
    id: message.id,
    object: "chat.completion",
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          ...(reasoning.length > 0 ? { reasoning_content: reasoning.join("") } : {}),
        },
        finish_reason: toFinishReason(message.stop_reason),
      },
    ],
    usage: toUsage(message.usage),
  };
}
