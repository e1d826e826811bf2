import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SseParser, readSse, type SseEvent } from "./sse.ts";
import { seededRandom } from "../core/random.ts";

function parseAll(chunks: (string | Uint8Array)[]): SseEvent[] {
  const parser = new SseParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return [...events, ...parser.end()];
}

/** The format read straight from its definition, over the whole text at once. */
function readWhole(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // the text after the last line ending is not a line
  let event: string | undefined;
  let data: string[] = [];
  for (const line of lines) {
    if (line === "") {
      if (data.length > 0) events.push({ event, data: data.join("\n") });
      event = undefined;
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    if (field === "event") event = value;
  }
  return events;
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

  test("agrees with a whole-text reading of the format over generated streams split anywhere", () => {
    // Seeded, so that a failure reproduces.
    const random = seededRandom(99);
    const pick = (max: number) => Math.floor(random() * max);
    const endings = ["\n", "\r\n", "\r"];
    const lines = [
      'data: {"a":1}',
      "data:no-space",
      "data:  two spaces",
      "data",
      "data:",
      "event: delta",
      "event:x",
      ": comment",
      "id: 7",
      "retry: 10",
      "plain",
      "data: é🌍 ü",
      "data: a:b:c",
      "",
    ];
    for (let run = 0; run < 300; run++) {
      let text = "";
      for (let i = pick(30); i >= 0; i--) {
        text += lines[pick(lines.length)]! + endings[pick(endings.length)]!;
      }
      const bytes = new TextEncoder().encode(text);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length;) {
        const size = 1 + pick(40);
        chunks.push(bytes.slice(at, at + size));
        at += size;
      }
      assert.deepEqual(parseAll(chunks), readWhole(text), JSON.stringify(text));
    }
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
