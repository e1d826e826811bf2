import type { FastCheck } from "./openai-fast-checks.ts";
import { chatMessageSchema } from "./schema.ts";

/**
 * Structural checks of the request bodies Keel sees most (chat with text messages, completions
 * and embeddings of a string or strings, with the common options), so that the common case
 * skips a zod parse per request: the gateway then goes on with the client's object itself.
 *
 * Each check accepts a strict subset of what its zod schema in `schema.ts` accepts, enforcing
 * every bound the schema does; anything it does not recognise (tools, images, another field)
 * goes to the full zod parse, which stays the contract and names the field in a 400. A body
 * must also list its fields in the schema's order, each object at every level: zod's copy puts
 * the schema's keys in that order, and the request is stored in traces and sent upstream as
 * JSON, so a body in another order would change those bytes. `request-fast-checks.test.ts`
 * holds the checks to all this.
 */

type Fields = Record<string, unknown>;
type Check = (value: unknown) => boolean;

/** An object's allowed fields with the check of each value, in the schema's key order. */
type FieldList = readonly (readonly [name: string, check: Check])[];

/** What JSON.parse makes of an object (zod would also take class instances, and copy them). */
function isPlainObject(value: unknown): value is Fields {
  return (
    typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

/**
 * Whether `value` is a plain object whose keys are all in `fields`, in that order, each value
 * passing its check, with the first `required` fields all present.
 */
function hasFields(value: unknown, fields: FieldList, required: number): boolean {
  if (!isPlainObject(value)) return false;
  let next = 0;
  for (const key in value) {
    let i = next;
    while (i < fields.length && fields[i]![0] !== key) i++;
    // An unknown key, one out of order, or a required field skipped.
    if (i === fields.length || (i > next && next < required)) return false;
    if (!fields[i]![1](value[key])) return false;
    next = i + 1;
  }
  return next >= required;
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

const streamOptionFields: FieldList = [["include_usage", isBoolean]];

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
  ["stream_options", orNull((value) => hasFields(value, streamOptionFields, 0))],
];

const roles: ReadonlySet<unknown> = new Set(chatMessageSchema.shape.role.options);

const textPartFields: FieldList = [
  ["type", (value) => value === "text"],
  ["text", isString],
];

const isTextPart: Check = (value) => hasFields(value, textPartFields, 2);

const messageFields: FieldList = [
  ["role", (value) => roles.has(value)],
  [
    "content",
    (value) =>
      typeof value === "string" || value === null || isListOf(value, isTextPart, 0, Infinity),
  ],
  ["name", isString],
];

const isMessage: Check = (value) => hasFields(value, messageFields, 1);

const responseFormatFields: FieldList = [
  ["type", isString],
  // Passed through by zod as it is (an unknown key), so any object will do.
  ["json_schema", isPlainObject],
];

const chatFields: FieldList = [
  ["model", isModel],
  ["messages", (value) => isListOf(value, isMessage, 1, Infinity)],
  ...samplingFields,
  ["max_completion_tokens", orNull(isPositiveInt)],
  ["response_format", orNull((value) => hasFields(value, responseFormatFields, 1))],
  ["logprobs", orNull(isBoolean)],
  ["top_logprobs", orNull(isIntIn(0, 20))],
];

const completionFields: FieldList = [
  ["model", isModel],
  ["prompt", isStringOrStrings],
  ...samplingFields,
];

const embeddingFields: FieldList = [
  ["model", isModel],
  ["input", isStringOrStrings],
  ["encoding_format", (value) => value === "float" || value === "base64"],
  ["dimensions", isPositiveInt],
  ["user", isString],
];

/** A chat request of text messages (`chatRequestSchema`), without tools. */
export const isPlainChatRequest: FastCheck = (body) => hasFields(body, chatFields, 2);

/** A completion request with a string or strings for prompt (`completionRequestSchema`). */
export const isPlainCompletionRequest: FastCheck = (body) => hasFields(body, completionFields, 2);

/** An embedding request of a string or strings (`embeddingRequestSchema`). */
export const isPlainEmbeddingRequest: FastCheck = (body) => hasFields(body, embeddingFields, 2);
