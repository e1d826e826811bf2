import type { ChatCompletionChunk, CompletionChunk } from "../providers/schema.ts";

/**
 * Where a stream's chunks carry generated text, for the output guardrails: each text is a slot,
 * filled piece by piece over the chunks. A chat choice has a slot for its content and one per
 * tool call for its arguments (OpenAI streams them as `delta.tool_calls[].function.arguments`
 * fragments, keyed by the call's `index`); a completion choice has one for its text.
 */

export interface Slot {
  choice: number;
  /** The tool call's `index` for its arguments; undefined for the choice's content. */
  toolCall: number | undefined;
}

export interface TextSlots<C> {
  /** Calls `visit` per piece of text the chunk carries; the returned string replaces it. */
  map(chunk: C, visit: (slot: Slot, text: string) => string): void;
  /** The indexes of the choices this chunk finishes (those with a `finish_reason`). */
  finished(chunk: C): number[];
  /** Appends text to a slot of one of the chunk's choices (creating the field when needed). */
  append(chunk: C, slot: Slot, text: string): void;
  /** A chunk like `template` that carries only `text`, in `slot`. */
  chunk(template: C, slot: Slot, text: string): C;
}

/** One key per slot, for maps. */
export function slotKey(slot: Slot): string {
  return slot.toolCall === undefined ? `${slot.choice}` : `${slot.choice}:${slot.toolCall}`;
}

type Choice<C extends { choices: unknown[] }> = C["choices"][number];
type ToolCallDelta = NonNullable<Choice<ChatCompletionChunk>["delta"]["tool_calls"]>[number];

/** The entry's tool call index (its position in the delta when an upstream omits `index`). */
function toolCallIndex(entry: ToolCallDelta, position: number): number {
  return typeof entry.index === "number" ? entry.index : position;
}

function functionOf(entry: ToolCallDelta): Record<string, unknown> | undefined {
  const fn = entry.function;
  return typeof fn === "object" && fn !== null ? (fn as Record<string, unknown>) : undefined;
}

function choiceOf<C extends { choices: { index: number }[] }>(
  chunk: C,
  index: number,
): Choice<C> | undefined {
  return chunk.choices.find((c) => c.index === index);
}

export const chatSlots: TextSlots<ChatCompletionChunk> = {
  map(chunk, visit) {
    for (const choice of chunk.choices) {
      const { delta } = choice;
      if (typeof delta.content === "string") {
        delta.content = visit({ choice: choice.index, toolCall: undefined }, delta.content);
      }
      delta.tool_calls?.forEach((entry, position) => {
        const fn = functionOf(entry);
        if (fn === undefined || typeof fn.arguments !== "string") return;
        const slot = { choice: choice.index, toolCall: toolCallIndex(entry, position) };
        fn.arguments = visit(slot, fn.arguments);
      });
    }
  },
  finished: (chunk) =>
    chunk.choices
      .filter((c) => c.finish_reason !== null && c.finish_reason !== undefined)
      .map((c) => c.index),
  append(chunk, slot, text) {
    const choice = choiceOf(chunk, slot.choice);
    if (choice === undefined) return;
    const { delta } = choice;
    if (slot.toolCall === undefined) {
      delta.content = (delta.content ?? "") + text;
      return;
    }
    const calls = (delta.tool_calls ??= []);
    const entry = calls.findLast((e, position) => toolCallIndex(e, position) === slot.toolCall);
    const fn = entry === undefined ? undefined : functionOf(entry);
    if (fn === undefined) calls.push({ index: slot.toolCall, function: { arguments: text } });
    else fn.arguments = (typeof fn.arguments === "string" ? fn.arguments : "") + text;
  },
  chunk(template, slot, text) {
    const delta =
      slot.toolCall === undefined
        ? { content: text }
        : { tool_calls: [{ index: slot.toolCall, function: { arguments: text } }] };
    return {
      ...template,
      choices: [{ index: slot.choice, delta, finish_reason: null, logprobs: null }],
      usage: undefined,
    };
  },
};

export const completionSlots: TextSlots<CompletionChunk> = {
  map(chunk, visit) {
    for (const choice of chunk.choices) {
      choice.text = visit({ choice: choice.index, toolCall: undefined }, choice.text);
    }
  },
  finished: (chunk) => chunk.choices.filter((c) => c.finish_reason !== null).map((c) => c.index),
  append(chunk, slot, text) {
    const choice = choiceOf(chunk, slot.choice);
    if (choice !== undefined) choice.text += text;
  },
  chunk: (template, slot, text) => ({
    ...template,
    choices: [{ index: slot.choice, text, finish_reason: null, logprobs: null }],
    usage: undefined,
  }),
};
