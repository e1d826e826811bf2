import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SseParser, readSse, type SseEvent } from "./sse.ts";

function parseAll(chunks: (string | Uint8Array)[]): SseEvent[] {
  const parser = new SseParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return [...events, ...parser.end()];
}

describe("SSE parser", () => {
  test("reads data events with and without event names", () => {
    const events = parseAll(['data: {"a":1}\n\nevent: message_stop\ndata: {}\n\n']);
    assert.deepEqual(events, [
      { event: undefined, data: '{"a":1}' },
      { event: "message_stop", data: "{}" },
    ]);
  });

  test("reassembles events split anywhere across chunks", () => {
    const text = 'event: delta\ndata: {"text":"hello"}\n\ndata: [DONE]\n\n';
    const whole = parseAll([text]);
    for (let cut = 1; cut < text.length; cut++) {
      assert.deepEqual(parseAll([text.slice(0, cut), text.slice(cut)]), whole, `split at ${cut}`);
    }
  });

  test("accepts CRLF and CR line endings, including a CRLF split between chunks", () => {
    assert.deepEqual(parseAll(["data: a\r", "\n\r\ndata: b\r\r"]), [
      { event: undefined, data: "a" },
      { event: undefined, data: "b" },
    ]);
  });

  test("joins multi-line data, skips comments and strips one leading space", () => {
    assert.deepEqual(parseAll([": keep-alive\n\ndata:first\ndata:  second\nid: 7\n\n"]), [
      { event: undefined, data: "first\n second" },
    ]);
  });

  test("decodes UTF-8 characters split between byte chunks", () => {
    const bytes = new TextEncoder().encode("data: héllo 🌍\n\n");
    const events = parseAll([bytes.slice(0, 8), bytes.slice(8, 14), bytes.slice(14)]);
    assert.deepEqual(events, [{ event: undefined, data: "héllo 🌍" }]);
  });

  test("drops an event that never got its closing blank line", () => {
    assert.deepEqual(parseAll(["data: whole\n\ndata: partial"]), [
      { event: undefined, data: "whole" },
    ]);
  });

  test("readSse pulls events from an async source", async () => {
    async function* source() {
      yield new TextEncoder().encode("data: 1\n");
      yield "\ndata: 2\n\n";
    }
    const events: string[] = [];
    for await (const event of readSse(source())) events.push(event.data);
    assert.deepEqual(events, ["1", "2"]);
  });
});
