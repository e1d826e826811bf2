import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chatCompletionSchema } from "./schema.ts";
import {
  anthropicMessageSchema,
  toChatCompletion,
  toFinishReason,
  toUsage,
  type AnthropicMessage,
} from "./anthropic-response.ts";

const message = (fields: Partial<AnthropicMessage>): AnthropicMessage => ({
  id: "msg_1",
  type: "message",
  role: "assistant",
  model: "claude-test",
  content: [{ type: "text", text: "Hello" }],
  stop_reason: "end_turn",
  usage: { input_tokens: 10, output_tokens: 3 },
  ...fields,
});

describe("Anthropic message → OpenAI chat completion", () => {
  test("text blocks become the message content, with usage and finish_reason", () => {
    const out = toChatCompletion(
      message({
        content: [
          { type: "text", text: "Hello" },
          { type: "text", text: " world" },
        ],
      }),
      1_700_000_000,
    );
    assert.deepEqual(out, {
      id: "msg_1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "claude-test",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello world" },
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
    });
    assert.equal(chatCompletionSchema.safeParse(out).success, true);
  });

  test("tool_use blocks become tool_calls with JSON arguments", () => {
    const out = toChatCompletion(
      message({
        content: [{ type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Oslo" } }],
        stop_reason: "tool_use",
      }),
    );
    const choice = out.choices[0]!;
    assert.equal(choice.message.content, null);
    assert.deepEqual(choice.message.tool_calls, [
      {
        id: "toolu_1",
        type: "function",
        function: { name: "weather", arguments: '{"city":"Oslo"}' },
      },
    ]);
    assert.equal(choice.finish_reason, "tool_calls");
  });

  test("stop reasons map to OpenAI finish reasons", () => {
    assert.equal(toFinishReason("end_turn"), "stop");
    assert.equal(toFinishReason("stop_sequence"), "stop");
    assert.equal(toFinishReason("max_tokens"), "length");
    assert.equal(toFinishReason("tool_use"), "tool_calls");
    assert.equal(toFinishReason(null), null);
  });

  test("cached input tokens count as prompt tokens and are reported as cached", () => {
    assert.deepEqual(
      toUsage({
        input_tokens: 5,
        output_tokens: 2,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 1000,
      }),
      {
        prompt_tokens: 1105,
        completion_tokens: 2,
        total_tokens: 1107,
        prompt_tokens_details: { cached_tokens: 1000 },
      },
    );
  });

  test("the edge schema rejects answers that are not a message", () => {
    assert.equal(anthropicMessageSchema.safeParse(message({})).success, true);
    assert.equal(
      anthropicMessageSchema.safeParse({ type: "message", content: "?" }).success,
      false,
    );
    const textless = { ...message({}), content: [{ type: "text" }] };
    assert.equal(anthropicMessageSchema.safeParse(textless).success, false);
  });
});
