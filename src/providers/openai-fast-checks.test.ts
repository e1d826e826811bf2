import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { z } from "zod";
import {
  isPlainChatChunk,
  isPlainChatCompletion,
  isPlainCompletion,
  type FastCheck,
} from "./openai-fast-checks.ts";
import { chatCompletionChunkSchema, chatCompletionSchema, completionSchema } from "./schema.ts";

const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
const envelope = { id: "x-1", created: 1_700_000_000, model: "m" };

const cases: { name: string; check: FastCheck; schema: z.ZodType; plain: unknown[] }[] = [
  {
    name: "chat completion",
    check: isPlainChatCompletion,
    schema: chatCompletionSchema,
    plain: [
      {
        ...envelope,
        object: "chat.completion",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "hi", refusal: null },
            finish_reason: "stop",
            logprobs: null,
          },
        ],
        usage,
        system_fingerprint: "fp",
      },
      {
        ...envelope,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: null }, finish_reason: null }],
      },
    ],
  },
  {
    name: "chat chunk",
    check: isPlainChatChunk,
    schema: chatCompletionChunkSchema,
    plain: [
      {
        ...envelope,
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
      },
      {
        ...envelope,
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta: {}, finish_reason: "stop", logprobs: null }],
      },
      { ...envelope, object: "chat.completion.chunk", choices: [], usage },
    ],
  },
  {
    name: "text completion",
    check: isPlainCompletion,
    schema: completionSchema,
    plain: [
      {
        ...envelope,
        object: "text_completion",
        choices: [{ index: 0, text: "hello", finish_reason: "length", logprobs: null }],
        usage: null,
      },
    ],
  },
];

/** Wrong values a field might hold in a malformed answer. */
const oddValues: unknown[] = [
  undefined,
  null,
  "",
  "text",
  0,
  -1,
  1.5,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  [],
  [{}],
  {},
  { content: 1 },
];

/** Every variant of `value` with one field (at any depth) replaced by an odd value or removed. */
function* mutations(value: unknown): Generator<unknown> {
  if (value === null || typeof value !== "object") return;
  const list: unknown[] | undefined = Array.isArray(value) ? (value as unknown[]) : undefined;
  const entries: [string | number, unknown][] =
    list !== undefined ? list.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, child] of entries) {
    const replace = (next: unknown): unknown => {
      if (list !== undefined) return list.map((v, i) => (i === key ? next : v));
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      if (next === undefined) delete copy[key];
      else copy[key] = next;
      return copy;
    };
    for (const odd of oddValues) yield replace(odd);
    for (const inner of mutations(child)) yield replace(inner);
  }
}

describe("fast checks of upstream answers", () => {
  for (const c of cases) {
    test(`a plain ${c.name} takes the fast path and satisfies the schema`, () => {
      for (const sample of c.plain) {
        assert.equal(c.check(sample), true);
        assert.equal(c.schema.safeParse(sample).success, true);
      }
    });

    test(`a ${c.name} the fast check accepts is never one the schema rejects`, () => {
      let checked = 0;
      for (const sample of c.plain) {
        for (const variant of mutations(sample)) {
          checked += 1;
          if (c.check(variant)) {
            const parsed = c.schema.safeParse(variant);
            assert.ok(parsed.success, `fast check passed ${JSON.stringify(variant)}`);
            // The schemas do not transform: the answer goes on as it came.
            assert.deepEqual(parsed.data, variant);
          }
        }
      }
      assert.ok(checked > 100);
    });
  }

  test("tool calls and logprobs go to the full schema", () => {
    const toolCall = {
      ...envelope,
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "t", type: "function" }],
          },
          finish_reason: "tool_calls",
        },
      ],
    };
    assert.equal(isPlainChatCompletion(toolCall), false);
    assert.equal(chatCompletionSchema.safeParse(toolCall).success, true);
    const withLogprobs = {
      ...envelope,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta: { content: "a" }, logprobs: { content: null } }],
    };
    assert.equal(isPlainChatChunk(withLogprobs), false);
    assert.equal(chatCompletionChunkSchema.safeParse(withLogprobs).success, true);
  });
});
