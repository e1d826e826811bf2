import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scanMessages } from "./scan-messages.ts";
import { piiPolicySchema } from "./schema.ts";

describe("scanMessages", () => {
  test("redacts contents, text parts and tool-call arguments, leaving the input untouched", () => {
    const messages = [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "My email is ann@example.com" },
          { type: "image_url", image_url: { url: "https://example.com/ann@example.com.png" } },
        ],
      },
      { role: "assistant", content: "Noted, calling +1 415 555 0123." },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "c1",
            type: "function",
            function: { name: "mail", arguments: '{"to":"bo@example.com"}' },
          },
        ],
      },
    ];
    const before = structuredClone(messages);
    const result = scanMessages(messages, piiPolicySchema.parse({ default_action: "redact" }));
    assert.deepEqual(messages, before);
    assert.deepEqual(result.messages, [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "My email is [EMAIL]" },
          { type: "image_url", image_url: { url: "https://example.com/ann@example.com.png" } },
        ],
      },
      { role: "assistant", content: "Noted, calling [PHONE]." },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "c1", type: "function", function: { name: "mail", arguments: '{"to":"[EMAIL]"}' } },
        ],
      },
    ]);
    assert.equal(result.action, "redact");
    assert.deepEqual(result.findings, [
      { type: "email", count: 2, action: "redact" },
      { type: "phone", count: 1, action: "redact" },
    ]);
  });
});
