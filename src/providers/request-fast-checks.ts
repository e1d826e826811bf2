import type { FastCheck } from "./openai-fast-checks.ts";
import { chatMessageSchema } from "./schema.ts";

/**
 * Structural checks of the request bodies Keel sees most (chat with text messages, completions
 * and embeddings of a string or strings, with the common options), so that the common case
 * skips a zod parse per request: the gateway then goes on with the client's object itself.
 *
 * Each check accepts a strict subset of what its zod schema in `schema.ts` accepts, enforcing
 * every bound the schema does; anything it does not recognise (tools, images, another field)
 * goes to the full zod parse, which stays the contract and names the field in a 400. Fields
 * may come in any order (OpenAI's Python SDK sends `messages` before `model` and the options
 * in its own order): the request then keeps the client's key order where zod's copy put the
 * schema's, in the trace and in the JSON sent upstream, which changes no value.
 * `request-fast-checks.test.ts` holds the checks to all this.
 */

type Fields = Record<string, unknown>;
type Check = (value: unknown) => boolean;

/** An object's allowed fields with the check of each value. */
type FieldList = readonly (readonly [name: string, check: Check])[];

/** A FieldList as looked up: each field's check, and which fields must be present. */
interface FieldSet {
  checks: ReadonlyMap<string, Check>;
  required: ReadonlySet<string>;
}

/** The first `required` fields of the list must be present. */
function fieldSet(fields: FieldList, required: number): FieldSet {
  return {
    checks: new Map(fields),
    required: new Set(fields.slice(0, required).map(([name]) => name)),
  };
}

/** What JSON.parse makes of an object (zod would also take class instances, and copy them). */
function isPlainObject(value: unknown): value is Fields {
  return (
    typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

/** Whether `value` is a plain object of known fields only, each valid, the required all there. */
function hasFields(value: unknown, fields: FieldSet): boolean {
  if (!isPlainObject(value)) return false;
  let required = 0;
  for (const key in value) {
    const check = fields.checks.get(key);
    if (check === undefined || !check(value[key])) return false;
    if (fields.required.has(key)) required += 1;
  }
  return required === fields.required.size;
}

/** An indexed loop, not `every`, which would skip the holes of a sparse array. */
function isListOf(value: unknown, check: Check, min: number, max: number): boolean {
  if (!Array.isArray(value) || value.length < min || value.length > max) return false;
  for (let i = 0; i < value.length; i++) if (!check(value[i])) return false;
  return true;
}

const isString: Check = (value) => typeof value === "string";
const isBoolean: Check = (value) => typeof value === "boolean";
const isModel: Check = (value) => typeof value === "string" && value.length > 0;

// Comparisons are false for NaN, and bounds leave out the infinities (zod rejects both).
const isNumberIn =
  (min: number, max: number): Check =>
  (value) =>
    typeof value === "number" && value >= min && value <= max;

// zod's `.int()` is a safe integer.
const isIntIn =
  (min: number, max: number): Check =>
  (value) =>
    Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;

const isPositiveInt = isIntIn(1, Number.MAX_SAFE_INTEGER);

/** The schema's `.nullish()`, less `undefined`, which no JSON body holds. */
const orNull =
  (check: Check): Check =>
  (value) =>
    value === null || check(value);

const isStringOrStrings: Check = (value) =>
  typeof value === "string" || isListOf(value, isString, 1, Infinity);

const isStop: Check = (value) => typeof value === "string" || isListOf(value, isString, 0, 4);

const streamOptionFields = fieldSet([["include_usage", isBoolean]], 0);

const samplingFields: FieldList = [
  ["temperature", orNull(isNumberIn(0, 2))],
  ["top_p", orNull(isNumberIn(0, 1))],
  ["n", orNull(isIntIn(1, 16))],
  ["stop", orNull(isStop)],
  ["max_tokens", orNull(isPositiveInt)],
  ["seed", orNull(isIntIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))],
  ["presence_penalty", orNull(isNumberIn(-2, 2))],
  ["frequency_penalty", orNull(isNumberIn(-2, 2))],
  ["user", isString],
  ["stream", orNull(isBoolean)],
  ["stream_options", orNull((value) => hasFields(value, streamOptionFields))],
];

const roles: ReadonlySet<unknown> = new Set(chatMessageSchema.shape.role.options);

const textPartFields = fieldSet(
  [
    ["type", (value) => value === "text"],
    ["text", isString],
  ],
  2,
);

const isTextPart: Check = (value) => hasFields(value, textPartFields);

const messageFields = fieldSet(
  [
    ["role", (value) => roles.has(value)],
    [
      "content",
      (value) =>
        typeof value === "string" || value === null || isListOf(value, isTextPart, 0, Infinity),
    ],
    ["name", isString],
  ],
  1,
);

const isMessage: Check = (value) => hasFields(value, messageFields);

const responseFormatFields = fieldSet(
  [
    ["type", isString],
    // Passed through by zod as it is (an unknown key), so any object will do.
    ["json_schema", isPlainObject],
  ],
  1,
);

const chatFields = fieldSet(
  [
    ["model", isModel],
    ["messages", (value) => isListOf(value, isMessage, 1, Infinity)],
    ...samplingFields,
    ["max_completion_tokens", orNull(isPositiveInt)],
    ["response_format", orNull((value) => hasFields(value, responseFormatFields))],
    ["logprobs", orNull(isBoolean)],
    ["top_logprobs", orNull(isIntIn(0, 20))],
  ],
  2,
);

const completionFields = fieldSet(
  [["model", isModel], ["prompt", isStringOrStrings], ...samplingFields],
  2,
);

const embeddingFields = fieldSet(
  [
    ["model", isModel],
    ["input", isStringOrStrings],
    ["encoding_format", (value) => value === "float" || value === "base64"],
    ["dimensions", isPositiveInt],
    ["user", isString],
  ],
  2,
);

/** A chat request of text messages (`chatRequestSchema`), without tools. */
export const isPlainChatRequest: FastCheck = (body) => hasFields(body, chatFields);

/** A completion request with a string or strings for prompt (`completionRequestSchema`). */
export const isPlainCompletionRequest: FastCheck = (body) => hasFields(body, completionFields);

/** An embedding request of a string or strings (`embeddingRequestSchema`). */
export const isPlainEmbeddingRequest: FastCheck = (body) => hasFields(body, embeddingFields);
