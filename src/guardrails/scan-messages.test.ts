import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { seededRandom } from "../core/random.ts";
import { scanMessages } from "./scan-messages.ts";
import { actionFor, scanText } from "./scan.ts";
import { piiEntityTypes, piiPolicySchema, type PiiPolicy } from "./schema.ts";

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

type Message = { role: string; content?: unknown; tool_calls?: unknown };

const PIECES = [
  "Say hello in five words.", "The answer is 42.", "mail ann@example.com", "card 4111 1111 1111 1111",
  "call +1 415 555 0123", "from 10.0.0.1", "no PII here", "",
]; // prettier-ignore

function generatedMessages(rng: () => number): Message[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  const text = () => `${pick(PIECES)} ${pick(PIECES)}`;
  return Array.from({ length: 1 + Math.floor(rng() * 4) }, (): Message => {
    switch (Math.floor(rng() * 4)) {
      case 0:
        return { role: "user", content: text() };
      case 1:
        return {
          role: "user",
          content: [
            { type: "text", text: text() },
            { type: "image_url", image_url: { url: "https://example.com/a@example.com.png" } },
            { type: "text", text: text() },
          ],
        };
      case 2:
        return {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "f", arguments: text() } },
            { id: "c2", type: "function", function: { name: "g" } },
          ],
        };
      default:
        return { role: "system", content: pick(PIECES) };
    }
  });
}

/** Each piece through `scanText`, every message copied: what scanning the pieces one by one gives. */
function scannedOneByOne(messages: readonly Message[], policy: PiiPolicy) {
  const counts = new Map<string, number>();
  const piece = (text: string) => {
    const result = scanText(text, policy);
    for (const f of result.findings) counts.set(f.type, (counts.get(f.type) ?? 0) + f.count);
    return result.redactedText;
  };
  const scanned = messages.map((message) => {
    const copy = { ...message };
    if (typeof message.content === "string") copy.content = piece(message.content);
    if (Array.isArray(message.content)) {
      copy.content = message.content.map((part: { type: string; text?: string }) =>
        part.type === "text" ? { ...part, text: piece(part.text!) } : part,
      );
    }
    if (Array.isArray(message.tool_calls)) {
      copy.tool_calls = message.tool_calls.map((call: { function: { arguments?: unknown } }) =>
        typeof call.function.arguments === "string"
          ? { ...call, function: { ...call.function, arguments: piece(call.function.arguments) } }
          : call,
      );
    }
    return copy;
  });
  const findings = piiEntityTypes
    .filter((type) => counts.has(type))
    .map((type) => ({ type, count: counts.get(type)!, action: actionFor(policy, type) }));
  return { scanned, findings };
}

describe("scanMessages on generated conversations", () => {
  test("replaces what scanning each piece replaces, and shares every message left as it was", () => {
    const rng = seededRandom(5);
    const policies = [
      piiPolicySchema.parse({}),
      piiPolicySchema.parse({ default_action: "redact" }),
      piiPolicySchema.parse({ entities: { email: "block", ipv4: "redact" } }),
    ];
    let shared = 0;
    let copied = 0;
    for (let i = 0; i < 2_000; i++) {
      const messages = generatedMessages(rng);
      const policy = policies[i % policies.length]!;
      const before = structuredClone(messages);
      const result = scanMessages(messages, policy);
      const { scanned, findings } = scannedOneByOne(messages, policy);
      assert.deepEqual(messages, before, "the input is not modified");
      assert.deepEqual(result.messages, scanned);
      assert.deepEqual(result.findings, findings);
      result.messages.forEach((message, m) => {
        const unchanged = isDeepStrictEqual(message, messages[m]);
        assert.equal(message === messages[m], unchanged);
        if (unchanged) shared++;
        else copied++;
      });
    }
    assert.ok(shared > 500 && copied > 500, `${shared} shared, ${copied} copied`);
  });
});
