import { z } from "zod";
import { malformedResponse, streamErrorEvent, type Scrub } from "./http-errors.ts";
import {
  anthropicUsageSchema,
  toFinishReason,
  toUsage,
  type AnthropicUsage,
} from "./anthropic-response.ts";
import type { ChatCompletionChunk } from "./schema.ts";

/**
 * Anthropic Messages stream events → OpenAI chat completion chunks. Stateful (a stream has
 * one message id, tool calls are numbered as they open, usage adds up from `message_start`
 * and `message_delta`) but free of I/O, so it is tested event by event.
 */

const eventSchemas = {
  message_start: z.looseObject({
    message: z.looseObject({ id: z.string(), model: z.string(), usage: anthropicUsageSchema }),
  }),
  content_block_start: z.looseObject({
    index: z.number().int(),
    content_block: z.looseObject({
      type: z.string(),
      id: z.string().optional(),
      name: z.string().optional(),
      text: z.string().optional(),
    }),
  }),
  content_block_delta: z.looseObject({
    index: z.number().int(),
    delta: z.looseObject({
      type: z.string(),
      text: z.string().optional(),
      partial_json: z.string().optional(),
      thinking: z.string().optional(),
    }),
  }),
  message_delta: z.looseObject({
    delta: z.looseObject({ stop_reason: z.string().nullish() }),
    usage: anthropicUsageSchema.nullish(),
  }),
} as const;

type Delta = ChatCompletionChunk["choices"][number]["delta"];

interface ChunkBase {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
}

export interface AnthropicStreamOptions {
  provider: string;
  /** Emit the final usage chunk (`choices: []`), as OpenAI does with `include_usage`. */
  includeUsage: boolean;
  /** Unix seconds stamped on every chunk. */
  created: number;
  scrub?: Scrub;
}

export class AnthropicStreamTranslator {
  readonly #options: AnthropicStreamOptions;
  #id = "";
  #model = "";
  #usage: AnthropicUsage = {};
  /** Anthropic content block index → OpenAI tool call index. */
  readonly #toolIndex = new Map<number, number>();
  #done = false;

  constructor(options: AnthropicStreamOptions) {
    this.#options = options;
  }

  /** True once `message_stop` arrived. */
  get done(): boolean {
    return this.#done;
  }

  /** The chunks one event (its parsed `data`) turns into; an `error` event throws. */
  translate(event: unknown): ChatCompletionChunk[] {
    const type = (event as { type?: unknown } | null)?.type;
    switch (type) {
      case "message_start": {
        const { message } = this.#parse(type, event);
        this.#id = message.id;
        this.#model = message.model;
        this.#usage = { ...message.usage };
        return [this.#chunk({ role: "assistant", content: "" })];
      }
      case "content_block_start": {
        const { index, content_block: block } = this.#parse(type, event);
        if (block.type === "tool_use") {
          const toolIndex = this.#toolIndex.size;
          this.#toolIndex.set(index, toolIndex);
          const call = { index: toolIndex, id: block.id, type: "function" };
          return [
            this.#chunk({
              tool_calls: [{ ...call, function: { name: block.name, arguments: "" } }],
            }),
          ];
        }
        if (block.type === "text" && block.text) return [this.#chunk({ content: block.text })];
        return [];
      }
      case "content_block_delta": {
        const { index, delta } = this.#parse(type, event);
        if (delta.type === "text_delta" && delta.text !== undefined) {
          return [this.#chunk({ content: delta.text })];
        }
        if (delta.type === "input_json_delta" && delta.partial_json !== undefined) {
          const toolIndex = this.#toolIndex.get(index) ?? 0;
          const call = { index: toolIndex, function: { arguments: delta.partial_json } };
          return [this.#chunk({ tool_calls: [call] })];
        }
        if (delta.type === "thinking_delta" && delta.thinking !== undefined) {
          return [this.#chunk({ reasoning_content: delta.thinking })];
        }
        return [];
      }
      case "message_delta": {
        const { delta, usage } = this.#parse(type, event);
        // Usage on message_delta is cumulative: later counts replace earlier ones.
        for (const [key, value] of Object.entries(usage ?? {})) {
          if (typeof value === "number") this.#usage[key] = value;
        }
        if (delta.stop_reason == null) return [];
        return [this.#chunk({}, toFinishReason(delta.stop_reason))];
      }
      case "message_stop": {
        this.#done = true;
        if (!this.#options.includeUsage) return [];
        return [{ ...this.#base(), choices: [], usage: toUsage(this.#usage) }];
      }
      case "error":
        throw streamErrorEvent(this.#options.provider, event, this.#options.scrub ?? ((t) => t));
      default:
        return []; // ping, content_block_stop and event types added later
    }
  }

  #parse<K extends keyof typeof eventSchemas>(
    type: K,
    event: unknown,
  ): z.output<(typeof eventSchemas)[K]> {
    const parsed = eventSchemas[type].safeParse(event);
    if (!parsed.success) {
      throw malformedResponse(this.#options.provider, `${type} event`, parsed.error);
    }
    return parsed.data as z.output<(typeof eventSchemas)[K]>;
  }

  #chunk(delta: Delta, finishReason: string | null = null): ChatCompletionChunk {
    return { ...this.#base(), choices: [{ index: 0, delta, finish_reason: finishReason }] };
  }

  #base(): ChunkBase {
    return {
      id: this.#id,
      object: "chat.completion.chunk",
      created: this.#options.created,
      model: this.#model,
    };
  }
}
