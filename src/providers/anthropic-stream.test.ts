import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeelError } from "../core/errors.ts";
import { AnthropicStreamTranslator } from "./anthropic-stream.ts";
import { chatCompletionChunkSchema, type ChatCompletionChunk } from "./schema.ts";

const start = {
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-test",
    content: [],
    stop_reason: null,
    usage: { input_tokens: 12, output_tokens: 1 },
  },
};
const textDelta = (text: string) => ({
  type: "content_block_delta",
  index: 0,
  delta: { type: "text_delta", text },
});
const stop = (reason: string, outputTokens: number) => ({
  type: "message_delta",
  delta: { stop_reason: reason, stop_sequence: null },
  usage: { output_tokens: outputTokens },
});

interface ToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function: { name?: string; arguments: string };
}

function run(events: unknown[], includeUsage = true): ChatCompletionChunk[] {
  const translator = new AnthropicStreamTranslator({
    provider: "claude",
    includeUsage,
    created: 1,
  });
  const chunks = events.flatMap((event) => translator.translate(event));
  for (const chunk of chunks)
    assert.equal(chatCompletionChunkSchema.safeParse(chunk).success, true);
  return chunks;
}

describe("Anthropic stream events → OpenAI chunks", () => {
  test("a text stream becomes a role chunk, content chunks, a finish chunk and a usage chunk", () => {
    const chunks = run([
      start,
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "ping" },
      textDelta("Hello"),
      textDelta(" world"),
      { type: "content_block_stop", index: 0 },
      stop("end_turn", 7),
      { type: "message_stop" },
    ]);
    assert.deepEqual(
      chunks.map((c) => [c.choices[0]?.delta, c.choices[0]?.finish_reason]),
      [
        [{ role: "assistant", content: "" }, null],
        [{ content: "Hello" }, null],
        [{ content: " world" }, null],
        [{}, "stop"],
        [undefined, undefined],
      ],
    );
    assert.ok(chunks.every((c) => c.id === "msg_1" && c.model === "claude-test"));
    assert.deepEqual(chunks.at(-1)!.choices, []);
    assert.deepEqual(chunks.at(-1)!.usage, {
      prompt_tokens: 12,
      completion_tokens: 7,
      total_tokens: 19,
    });
  });

  test("no usage chunk when the client turned include_usage off", () => {
    const chunks = run(
      [start, textDelta("x"), stop("end_turn", 1), { type: "message_stop" }],
      false,
    );
    assert.ok(chunks.every((c) => c.usage == null));
  });

  test("max_tokens and stop_sequence map to length and stop", () => {
    assert.equal(run([start, stop("max_tokens", 4)]).at(-1)!.choices[0]!.finish_reason, "length");
    assert.equal(run([start, stop("stop_sequence", 4)]).at(-1)!.choices[0]!.finish_reason, "stop");
  });

  test("tool_use blocks stream as tool_calls deltas numbered from 0", () => {
    const chunks = run([
      start,
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      textDelta("Let me check."),
      { type: "content_block_stop", index: 0 },
      {
        type: "content_block_start",
        index: 1,
        content_block: { type: "tool_use", id: "toolu_1", name: "weather", input: {} },
      },
      {
        type: "content_block_delta",
        index: 1,
        delta: { type: "input_json_delta", partial_json: '{"city":' },
      },
      {
        type: "content_block_delta",
        index: 1,
        delta: { type: "input_json_delta", partial_json: '"Oslo"}' },
      },
      { type: "content_block_stop", index: 1 },
      stop("tool_use", 20),
      { type: "message_stop" },
    ]);
    const calls = chunks.flatMap(
      (c) => (c.choices[0]?.delta.tool_calls ?? []) as unknown as ToolCallDelta[],
    );
    assert.deepEqual(calls[0], {
      index: 0,
      id: "toolu_1",
      type: "function",
      function: { name: "weather", arguments: "" },
    });
    assert.equal(calls.map((c) => c.function.arguments).join(""), '{"city":"Oslo"}');
    assert.ok(calls.every((c) => c.index === 0));
    assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, "tool_calls");
  });

  test("cumulative usage on message_delta replaces the start's counts", () => {
    const chunks = run([
      start,
      {
        type: "message_delta",
        delta: { stop_reason: "end_turn" },
        usage: { input_tokens: 30, output_tokens: 9 },
      },
      { type: "message_stop" },
    ]);
    assert.deepEqual(chunks.at(-1)!.usage, {
      prompt_tokens: 30,
      completion_tokens: 9,
      total_tokens: 39,
    });
  });

  test("an error event throws a retryable provider error", () => {
    const translator = new AnthropicStreamTranslator({
      provider: "claude",
      includeUsage: true,
      created: 1,
    });
    translator.translate(start);
    assert.throws(
      () =>
        translator.translate({
          type: "error",
          error: { type: "overloaded_error", message: "Overloaded" },
        }),
      (err: unknown) =>
        err instanceof KeelError &&
        err.code === "provider_error" &&
        err.retryable &&
        /Overloaded/.test(err.message),
    );
  });

  test("a malformed event is a provider_error; unknown event types are ignored", () => {
    const translator = new AnthropicStreamTranslator({
      provider: "claude",
      includeUsage: true,
      created: 1,
    });
    assert.deepEqual(translator.translate({ type: "some_future_event", x: 1 }), []);
    assert.throws(
      () => translator.translate({ type: "message_start", message: "nope" }),
      (err: unknown) =>
        err instanceof KeelError && err.code === "provider_error" && err.status === 502,
    );
  });

  test("done is set only by message_stop", () => {
    const translator = new AnthropicStreamTranslator({
      provider: "claude",
      includeUsage: true,
      created: 1,
    });
    translator.translate(start);
    translator.translate(stop("end_turn", 1));
    assert.equal(translator.done, false);
    translator.translate({ type: "message_stop" });
    assert.equal(translator.done, true);
  });
});
