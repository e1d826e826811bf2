import type { ChatCompletionChunk, CompletionChunk, Usage } from "../providers/schema.ts";

/**
 * Follows a stream chunk by chunk: counts generated characters (for token estimation when no
 * usage arrives), keeps finish reasons and the usage chunk, and, when trace bodies are kept,
 * assembles the streamed answer into the non-streamed response shape.
 */

interface ToolCallDelta {
  index?: unknown;
  id?: unknown;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

interface ToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

interface ChoiceState {
  role: string;
  text: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
}

abstract class Assembler<
  C extends { id: string; created: number; usage?: Usage | null | undefined },
> {
  readonly #keepText: boolean;
  protected readonly choices: ChoiceState[] = [];
  /** Characters generated so far, over all choices (content plus tool-call arguments). */
  chars = 0;
  id = "";
  created = 0;
  usage: Usage | undefined;

  constructor(keepText: boolean) {
    this.#keepText = keepText;
  }

  /** Takes in a chunk; true when it carried the first generated content. */
  abstract add(chunk: C): boolean;

  protected seen(chunk: C): void {
    this.id = chunk.id;
    this.created = chunk.created;
    if (chunk.usage !== null && chunk.usage !== undefined) this.usage = chunk.usage;
  }

  protected choice(index: number): ChoiceState {
    let state = this.choices[index];
    if (state === undefined) {
      state = { role: "assistant", text: "", toolCalls: [], finishReason: null };
      this.choices[index] = state;
    }
    return state;
  }

  protected addText(state: ChoiceState, text: string): void {
    this.chars += text.length;
    if (this.#keepText) state.text += text;
  }

  protected addToolCalls(state: ChoiceState, deltas: readonly ToolCallDelta[]): void {
    for (const delta of deltas) {
      const args = typeof delta.function?.arguments === "string" ? delta.function.arguments : "";
      const name = typeof delta.function?.name === "string" ? delta.function.name : "";
      this.chars += args.length + name.length;
      if (!this.#keepText) continue;
      const i = typeof delta.index === "number" ? delta.index : state.toolCalls.length;
      const call = (state.toolCalls[i] ??= {
        id: "",
        type: "function",
        function: { name: "", arguments: "" },
      });
      if (typeof delta.id === "string") call.id = delta.id;
      if (typeof delta.type === "string") call.type = delta.type;
      call.function.name += name;
      call.function.arguments += args;
    }
  }

  /** The first choice's finish reason (null when the stream never said). */
  get finishReason(): string | null {
    return this.choices[0]?.finishReason ?? null;
  }

  /** Indexes of choices that have not finished (index 0 when none were seen). */
  unfinished(): number[] {
    if (this.choices.length === 0) return [0];
    const open: number[] = [];
    this.choices.forEach((c, i) => {
      if (c.finishReason === null) open.push(i);
    });
    return open;
  }
}

export class ChatStreamAssembler extends Assembler<ChatCompletionChunk> {
  add(chunk: ChatCompletionChunk): boolean {
    this.seen(chunk);
    const before = this.chars;
    for (const c of chunk.choices) {
      const state = this.choice(c.index);
      const delta = c.delta;
      if (typeof delta.role === "string") state.role = delta.role;
      if (typeof delta.content === "string") this.addText(state, delta.content);
      if (delta.tool_calls !== undefined) this.addToolCalls(state, delta.tool_calls);
      if (typeof c.finish_reason === "string") state.finishReason = c.finish_reason;
    }
    return before === 0 && this.chars > 0;
  }

  /** The streamed answer in the shape of a non-streamed chat completion. */
  assembled(model: string): Record<string, unknown> {
    return {
      id: this.id,
      object: "chat.completion",
      created: this.created,
      model,
      choices: this.choices.map((c, index) => ({
        index,
        message: {
          role: c.role,
          content: c.text,
          ...(c.toolCalls.length > 0 ? { tool_calls: c.toolCalls.filter(Boolean) } : {}),
        },
        finish_reason: c.finishReason,
      })),
      ...(this.usage === undefined ? {} : { usage: this.usage }),
    };
  }

  /** A final chunk that closes every unfinished choice with `reason`. */
  closingChunk(model: string, reason: string): ChatCompletionChunk {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created || Math.floor(Date.now() / 1000),
      model,
      choices: this.unfinished().map((index) => ({ index, delta: {}, finish_reason: reason })),
    };
  }

  /** The usage chunk OpenAI sends last, for a client that asked and an upstream that did not. */
  usageChunk(model: string, usage: Usage): ChatCompletionChunk {
    return { ...this.closingChunk(model, ""), choices: [], usage };
  }
}

export class CompletionStreamAssembler extends Assembler<CompletionChunk> {
  add(chunk: CompletionChunk): boolean {
    this.seen(chunk);
    const before = this.chars;
    for (const c of chunk.choices) {
      const state = this.choice(c.index);
      this.addText(state, c.text);
      if (typeof c.finish_reason === "string") state.finishReason = c.finish_reason;
    }
    return before === 0 && this.chars > 0;
  }

  assembled(model: string): Record<string, unknown> {
    return {
      id: this.id,
      object: "text_completion",
      created: this.created,
      model,
      choices: this.choices.map((c, index) => ({
        index,
        text: c.text,
        finish_reason: c.finishReason,
      })),
      ...(this.usage === undefined ? {} : { usage: this.usage }),
    };
  }

  closingChunk(model: string, reason: string): CompletionChunk {
    return {
      id: this.id,
      object: "text_completion",
      created: this.created || Math.floor(Date.now() / 1000),
      model,
      choices: this.unfinished().map((index) => ({ index, text: "", finish_reason: reason })),
    };
  }

  usageChunk(model: string, usage: Usage): CompletionChunk {
    return { ...this.closingChunk(model, ""), choices: [], usage };
  }
}
