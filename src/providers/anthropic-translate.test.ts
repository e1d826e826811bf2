import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeelError } from "../core/errors.ts";
import { DEFAULT_MAX_TOKENS, toAnthropicRequest } from "./anthropic-translate.ts";
import type { ChatRequest } from "./schema.ts";

const req = (fields: Partial<ChatRequest> & Record<string, unknown>): ChatRequest => ({
  model: "claude-test",
  messages: [{ role: "user", content: "hi" }],
  ...fields,
});

function refused(fields: Record<string, unknown>, code: string, param: string): void {
  assert.throws(
    () => toAnthropicRequest(req(fields), false),
    (err: unknown) => err instanceof KeelError && err.code === code && err.param === param,
  );
}

describe("OpenAI chat request → Anthropic Messages request", () => {
  test("system and developer messages become `system`; the rest stay in order", () => {
    const out = toAnthropicRequest(
      req({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: "Answer in French." },
          { role: "user", content: "Hello" },
          { role: "assistant", content: "Bonjour" },
          { role: "user", content: "Again" },
        ],
      }),
      false,
    );
    assert.equal(out.system, "Be brief.\n\nAnswer in French.");
    assert.deepEqual(out.messages, [
      { role: "user", content: "Hello" },
      { role: "assistant", content: "Bonjour" },
      { role: "user", content: "Again" },
    ]);
  });

  test("max_tokens defaults to 4096, max_completion_tokens wins over max_tokens", () => {
    assert.equal(toAnthropicRequest(req({}), false).max_tokens, DEFAULT_MAX_TOKENS);
    assert.equal(toAnthropicRequest(req({ max_tokens: 100 }), false).max_tokens, 100);
    const both = toAnthropicRequest(req({ max_tokens: 100, max_completion_tokens: 50 }), false);
    assert.equal(both.max_tokens, 50);
    assert.equal("max_completion_tokens" in both, false);
  });

  test("stop becomes stop_sequences; sampling fields carry over; nulls are left out", () => {
    const out = toAnthropicRequest(
      req({ stop: "END", temperature: 0.2, top_p: 0.9, seed: null, frequency_penalty: 0.5 }),
      true,
    );
    assert.deepEqual(out.stop_sequences, ["END"]);
    assert.equal(out.temperature, 0.2);
    assert.equal(out.top_p, 0.9);
    assert.equal(out.stream, true);
    assert.equal("seed" in out, false);
    assert.equal("frequency_penalty" in out, false);
    assert.equal("stop" in out, false);
    assert.deepEqual(toAnthropicRequest(req({ stop: ["a", "b"] }), false).stop_sequences, [
      "a",
      "b",
    ]);
  });

  test("cache_control on content parts, system parts and tools passes through untouched", () => {
    const cache = { type: "ephemeral" };
    const out = toAnthropicRequest(
      req({
        messages: [
          { role: "system", content: [{ type: "text", text: "long rules", cache_control: cache }] },
          {
            role: "user",
            content: [
              { type: "text", text: "doc", cache_control: cache },
              { type: "text", text: "question" },
            ],
          },
        ],
        tools: [
          {
            type: "function",
            function: { name: "lookup", parameters: { type: "object" } },
            cache_control: cache,
          },
        ],
      }),
      false,
    );
    assert.deepEqual(out.system, [{ type: "text", text: "long rules", cache_control: cache }]);
    assert.deepEqual(out.messages, [
      {
        role: "user",
        content: [
          { type: "text", text: "doc", cache_control: cache },
          { type: "text", text: "question" },
        ],
      },
    ]);
    assert.deepEqual(out.tools, [
      { name: "lookup", input_schema: { type: "object" }, cache_control: cache },
    ]);
  });

  test("a message-level cache_control lands on the message's last content block", () => {
    const cache = { type: "ephemeral" };
    const out = toAnthropicRequest(
      req({
        messages: [
          { role: "system", content: "rules", cache_control: cache },
          { role: "user", content: "a long document", cache_control: cache },
        ],
      }),
      false,
    );
    assert.deepEqual(out.system, [{ type: "text", text: "rules", cache_control: cache }]);
    assert.deepEqual(out.messages, [
      { role: "user", content: [{ type: "text", text: "a long document", cache_control: cache }] },
    ]);
  });

  test("Anthropic-only top-level fields pass through untouched", () => {
    const thinking = { type: "enabled", budget_tokens: 2048 };
    const out = toAnthropicRequest(req({ top_k: 5, thinking, metadata: { user_id: "u1" } }), false);
    assert.equal(out.top_k, 5);
    assert.deepEqual(out.thinking, thinking);
    assert.deepEqual(out.metadata, { user_id: "u1" });
  });

  test("user becomes metadata.user_id", () => {
    assert.deepEqual(toAnthropicRequest(req({ user: "alice" }), false).metadata, {
      user_id: "alice",
    });
  });

  test("function tools and tool_choice translate; Anthropic server tools pass as written", () => {
    const webSearch = { type: "web_search_20250305", name: "web_search", max_uses: 2 };
    const out = toAnthropicRequest(
      req({
        tools: [
          {
            type: "function",
            function: {
              name: "weather",
              description: "Current weather",
              parameters: { type: "object", properties: { city: { type: "string" } } },
            },
          },
          webSearch,
        ],
        tool_choice: { type: "function", function: { name: "weather" } },
        parallel_tool_calls: false,
      }),
      false,
    );
    assert.deepEqual(out.tools, [
      {
        name: "weather",
        description: "Current weather",
        input_schema: { type: "object", properties: { city: { type: "string" } } },
      },
      webSearch,
    ]);
    assert.deepEqual(out.tool_choice, {
      type: "tool",
      name: "weather",
      disable_parallel_tool_use: true,
    });
    assert.deepEqual(toAnthropicRequest(req({ tool_choice: "required" }), false).tool_choice, {
      type: "any",
    });
    assert.deepEqual(toAnthropicRequest(req({ tool_choice: "auto" }), false).tool_choice, {
      type: "auto",
    });
    assert.deepEqual(toAnthropicRequest(req({ tool_choice: "none" }), false).tool_choice, {
      type: "none",
    });
  });

  test("assistant tool_calls become tool_use blocks and tool messages one tool_result turn", () => {
    const out = toAnthropicRequest(
      req({
        messages: [
          { role: "user", content: "Weather in Oslo and Rome?" },
          {
            role: "assistant",
            content: "Checking.",
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "weather", arguments: '{"city":"Oslo"}' },
              },
              { id: "call_2", type: "function", function: { name: "weather", arguments: "" } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "-3C" },
          { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "18C" }] },
        ],
      }),
      false,
    );
    assert.deepEqual(out.messages, [
      { role: "user", content: "Weather in Oslo and Rome?" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "call_1", name: "weather", input: { city: "Oslo" } },
          { type: "tool_use", id: "call_2", name: "weather", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "-3C" },
          { type: "tool_result", tool_use_id: "call_2", content: [{ type: "text", text: "18C" }] },
        ],
      },
    ]);
  });

  test("image_url parts become image blocks (base64 data URLs and plain URLs)", () => {
    const out = toAnthropicRequest(
      req({
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
              {
                type: "image_url",
                image_url: { url: "https://example.com/cat.jpg" },
                cache_control: { type: "ephemeral" },
              },
            ],
          },
        ],
      }),
      false,
    );
    assert.deepEqual((out.messages as { content: unknown }[])[0]!.content, [
      { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
      {
        type: "image",
        source: { type: "url", url: "https://example.com/cat.jpg" },
        cache_control: { type: "ephemeral" },
      },
    ]);
  });

  test("requests Anthropic cannot honour are refused with the field named", () => {
    refused({ n: 2 }, "unsupported", "n");
    refused({ logprobs: true }, "unsupported", "logprobs");
    refused({ response_format: { type: "json_object" } }, "unsupported", "response_format");
    refused(
      {
        messages: [
          { role: "user", content: "x" },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "c", type: "function", function: { name: "f", arguments: "{oops" } },
            ],
          },
        ],
      },
      "invalid_request",
      "messages.1.tool_calls.0.function.arguments",
    );
    refused(
      { messages: [{ role: "tool", content: "x" }] },
      "invalid_request",
      "messages.0.tool_call_id",
    );
  });
});
