/**
 * Structural checks of the OpenAI answers Keel sees most (plain chat and text completions and
 * their stream chunks), so that the common case skips a zod parse per answer and per chunk.
 *
 * Each check accepts a strict subset of what its zod schema in `schema.ts` accepts: a value it
 * passes would also pass the schema, unchanged (those schemas neither default nor transform).
 * Anything it does not recognise (tool calls, logprobs, a missing or odd field) goes to the
 * full zod parse, which stays the contract and turns a malformed answer into a typed
 * `provider_error` naming the field. `openai-fast-checks.test.ts` holds them to that.
 */
export type FastCheck = (data: unknown) => boolean;

type Fields = Record<string, unknown>;

function isRecord(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isStringOrNull(value: unknown): boolean {
  return typeof value === "string" || value === null;
}

function isAbsentOrNull(value: unknown): boolean {
  return value === undefined || value === null;
}

function hasUsageIfAny(usage: unknown): boolean {
  return (
    isAbsentOrNull(usage) ||
    (isRecord(usage) &&
      isCount(usage.prompt_tokens) &&
      isCount(usage.completion_tokens) &&
      isCount(usage.total_tokens))
  );
}

/** The fields every answer and chunk shares; `object` must be `kind`. */
function hasEnvelope(data: unknown, kind: string): data is Fields & { choices: unknown[] } {
  return (
    isRecord(data) &&
    typeof data.id === "string" &&
    data.object === kind &&
    typeof data.created === "number" &&
    Number.isFinite(data.created) &&
    typeof data.model === "string" &&
    Array.isArray(data.choices) &&
    hasUsageIfAny(data.usage)
  );
}

/** A choice with an integer index and no logprobs; `finish` checks its finish_reason. */
function isChoice(choice: unknown, finish: (value: unknown) => boolean): choice is Fields {
  return (
    isRecord(choice) &&
    Number.isSafeInteger(choice.index) &&
    finish(choice.finish_reason) &&
    isAbsentOrNull(choice.logprobs)
  );
}

const isFinishReason = isStringOrNull;
const isStreamFinishReason = (value: unknown): boolean =>
  value === undefined || isStringOrNull(value);

/** A `chat.completion` whose choices are plain assistant messages. */
export const isPlainChatCompletion: FastCheck = (data) => {
  if (!hasEnvelope(data, "chat.completion")) return false;
  for (const choice of data.choices) {
    if (!isChoice(choice, isFinishReason)) return false;
    const message = choice.message;
    if (
      !isRecord(message) ||
      message.role !== "assistant" ||
      !isStringOrNull(message.content) ||
      message.tool_calls !== undefined
    ) {
      return false;
    }
  }
  return true;
};

/** A `chat.completion.chunk` whose deltas carry at most a role and text. */
export const isPlainChatChunk: FastCheck = (data) => {
  if (!hasEnvelope(data, "chat.completion.chunk")) return false;
  for (const choice of data.choices) {
    if (!isChoice(choice, isStreamFinishReason)) return false;
    const delta = choice.delta;
    if (
      !isRecord(delta) ||
      (delta.role !== undefined && typeof delta.role !== "string") ||
      !(delta.content === undefined || isStringOrNull(delta.content)) ||
      delta.tool_calls !== undefined
    ) {
      return false;
    }
  }
  return true;
};

/** A `text_completion` (whole, or one streamed piece) with text choices. */
export const isPlainCompletion: FastCheck = (data) => {
  if (!hasEnvelope(data, "text_completion")) return false;
  for (const choice of data.choices) {
    if (!isChoice(choice, isFinishReason) || typeof choice.text !== "string") return false;
  }
  return true;
};
