import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { ChunkTemplate, isStringifiedString } from "./chunk-template.ts";
import { OpenAIChunkStream } from "./openai-chunk-stream.ts";
import { isPlainChatChunk, isPlainCompletion } from "./openai-fast-checks.ts";
import { chatCompletionChunkSchema, completionSchema } from "./schema.ts";
import { UpstreamEvents } from "./upstream-events.ts";
import { parseAnswer } from "./upstream-http.ts";
import { seededRandom } from "../core/random.ts";

/**
 * Chunks built from a learnt template must be exactly what JSON.parse makes of their text, and
 * a template's sides around the text's string token exactly what JSON.stringify makes of the
 * chunk: checked over many generated streams, most of them JSON.stringify's own text, the rest
 * bent the ways upstreams write JSON differently (spaces, other escapes, other number forms,
 * repeated keys), which must fall back to the full parse.
 */

const PIECES = [
  "",
  "hello",
  " world",
  '"quoted"',
  "back\\slash",
  "line\nbreak",
  "tab\there",
  "\u0000",
  "\u001f",
  "\b\f\r",
  "\u007f",
  "é",
  "日本語",
  "🌍",
  "\u2028",
  "\ud800",
  "a/b",
  "</script>",
  "\\u0041",
  '{"model":"m","content":"x"}',
];

/** Ways an upstream writes the same JSON differently from JSON.stringify. */
const BENDS: ((json: string) => string)[] = [
  (json) => json.replace(/":/g, '": ').replace(/,"/g, ', "'),
  (json) => json.replace(/\//g, "\\/"),
  (json) => json.replace(/é/g, "\\u00e9"),
  (json) => json.replace(/\\u001f/g, "\\u001F"),
  (json) => json.replace(/\\n/g, "\\u000a"),
  (json) => json.replace(/"created":(\d+)/, '"created":$1.0'),
  (json) => json.replace(/"index":0/, '"index":-0'),
  (json) => json.replace(/^\{/, '{"id":"shadowed",'),
  (json) => json.replace(/🌍/g, "\\ud83c\\udf0d"),
  (json) => ` ${json}`,
  (json) => json.replace(/^\{/, '{"__proto__":{"x":1},'),
];

interface Generated {
  texts: string[];
  kind: "chat" | "completion";
}

function generate(pick: () => number): Generated {
  const n = (max: number) => Math.floor(pick() * max);
  const kind = pick() < 0.75 ? "chat" : "completion";
  const base: Record<string, unknown> = {
    id: `chatcmpl-${n(1000)}`,
    object: kind === "chat" ? "chat.completion.chunk" : "text_completion",
    created: 1_700_000_000 + n(100),
    model: pick() < 0.1 ? "public" : ["llama-3", "m", 'a"b', "gpt/4"][n(4)],
  };
  if (pick() < 0.3) base.system_fingerprint = "fp_1";
  if (pick() < 0.1) base.meta = { model: base.model, content: "nested" };
  if (pick() < 0.05) base["7"] = true;
  const text = () => {
    let out = "";
    for (let i = n(4); i >= 0; i--) out += PIECES[n(PIECES.length)];
    return out;
  };
  // Some engines number their chunks, after the text: the rest of the chunk differs too.
  const numbered = pick() < 0.2;
  const texts: string[] = [];
  for (let i = n(12) + 1; i > 0; i--) {
    const finish = pick() < 0.1 ? "stop" : null;
    let chunk: Record<string, unknown>;
    if (kind === "chat") {
      const delta: Record<string, unknown> = pick() < 0.85 ? { content: text() } : {};
      if (pick() < 0.1) delta.role = "assistant";
      const choice: Record<string, unknown> = { index: 0, delta, finish_reason: finish };
      if (pick() < 0.5) choice.logprobs = null;
      chunk = { ...base, choices: [choice] };
    } else {
      chunk = { ...base, choices: [{ index: 0, text: text(), finish_reason: finish }] };
    }
    if (pick() < 0.05) chunk.choices = [];
    if (pick() < 0.05) {
      chunk.usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    }
    if (numbered) chunk.seq = i % 10;
    if (pick() < 0.05) base.created = (base.created as number) + 1;
    const json = JSON.stringify(chunk);
    texts.push(pick() < 0.15 ? BENDS[n(BENDS.length)]!(json) : json);
  }
  return { texts, kind };
}

/** A body that hands out `text` in a few reads, as an undici body does. */
function bodyOf(text: string, pick: () => number): Dispatcher.ResponseData["body"] {
  const reads: Buffer[] = [];
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(pick() * 600);
    reads.push(bytes.subarray(at, at + size));
    at += size;
  }
  const body = Readable.from(reads, { objectMode: false });
  return Object.assign(body, {
    dump: () => {
      body.resume();
      return Promise.resolve();
    },
  }) as unknown as Dispatcher.ResponseData["body"];
}

/** The provider's check of a chunk, as the general path runs it on `JSON.parse` of the text. */
function checkFor(kind: Generated["kind"]): (data: unknown) => unknown {
  return (data) =>
    kind === "chat"
      ? parseAnswer("p", data, chatCompletionChunkSchema, "chat chunk", isPlainChatChunk)
      : parseAnswer("p", data, completionSchema, "completion chunk", isPlainCompletion);
}

function streamOf(generated: Generated, pick: () => number) {
  const sse = `${generated.texts.map((t) => `data: ${t}\n\n`).join("")}data: [DONE]\n\n`;
  const check = checkFor(generated.kind);
  const signal = new AbortController().signal;
  return new OpenAIChunkStream<{ model: string; choices: { finish_reason?: string | null }[] }>(
    (end) => new UpstreamEvents("p", () => Promise.resolve(bodyOf(sse, pick)), signal, end),
    { parse: (text) => JSON.parse(text) as unknown, check: check as never },
  );
}

/** The object's keys, all the way down, in order: what deepStrictEqual does not compare. */
function keyOrder(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) return value.map(keyOrder);
  return Object.entries(value).map(([key, v]) => [key, keyOrder(v)]);
}

describe("chunk templates", () => {
  test("built chunks are JSON.parse of their text and the sides give JSON.stringify", async () => {
    const pick = seededRandom(20_240_611);
    let chunks = 0;
    let built = 0;
    let swapped = 0;
    for (let s = 0; s < 400; s++) {
      const generated = generate(pick);
      const stream = streamOf(generated, pick);
      let i = 0;
      for await (const chunk of stream) {
        const raw = generated.texts[i++]!;
        const parsed: unknown = JSON.parse(raw);
        // What the general path gives: the full parse, checked.
        assert.deepStrictEqual(chunk, checkFor(generated.kind)(JSON.parse(raw)), raw);
        const text = stream.textOf(chunk);
        const template = stream.templateOf(chunk);
        chunks++;
        if (text === undefined) continue;
        assert.equal(text, raw);
        assert.deepStrictEqual(chunk, parsed, raw);
        assert.deepStrictEqual(keyOrder(chunk), keyOrder(parsed), raw);
        if (template === undefined) continue;
        built++;
        const sides = template.withModel(chunk.model, "public");
        chunk.model = "public";
        const token = text.slice(template.prefix.length, text.length - template.suffix.length);
        if (sides !== undefined) {
          swapped++;
          assert.equal(sides.prefix + token + sides.suffix, JSON.stringify(chunk), raw);
        }
      }
      assert.equal(i, generated.texts.length);
    }
    // Not vacuous: most chunks of these streams fit a template.
    assert.ok(built > chunks / 3, `${built} of ${chunks} chunks fit a template`);
    assert.ok(swapped > built / 2, `${swapped} of ${built} templates took the public model`);
  });

  test("a template is learnt only from JSON.stringify's own text", () => {
    const chunk = {
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: { content: "a/b" }, finish_reason: null }],
    };
    const json = JSON.stringify(chunk);
    assert.ok(ChunkTemplate.learn(json, JSON.parse(json)) !== undefined);
    for (const bent of [json.replace("/", "\\/"), json.replace(/,/g, ", "), ` ${json}`]) {
      assert.equal(ChunkTemplate.learn(bent, JSON.parse(bent)), undefined, bent);
    }
    const proto = '{"__proto__":{},"choices":[{"index":0,"delta":{"content":"x"}}]}';
    assert.equal(ChunkTemplate.learn(proto, JSON.parse(proto)), undefined);
  });

  test("the empty chunk that opens a chat stream teaches no template; the next one does", () => {
    const chunk = (delta: object) =>
      JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta, finish_reason: null }],
      });
    const opening = chunk({ role: "assistant", content: "" });
    assert.equal(ChunkTemplate.learn(opening, JSON.parse(opening)), undefined);
    const first = chunk({ content: "Hello" });
    const template = ChunkTemplate.learn(first, JSON.parse(first));
    assert.deepEqual(
      template?.parse(chunk({ content: " there" })),
      JSON.parse(chunk({ content: " there" })),
    );
  });

  test("a template recognises only its own text with one string token in the slot", () => {
    const make = (content: string) =>
      JSON.stringify({ id: "c", model: "m", choices: [{ index: 0, delta: { content } }] });
    const template = ChunkTemplate.learn(make("x"), JSON.parse(make("x")))!;
    assert.deepEqual(template.parse(make('say "hi"\n')), JSON.parse(make('say "hi"\n')));
    assert.equal(template.parse(make("x").replace('"c"', '"d"')), undefined);
    assert.equal(template.parse(make("a/b").replace("/", "\\/")), undefined);
    const twoTokens = make("x").replace('"x"', '"x","content":"y"');
    assert.equal(template.parse(twoTokens), undefined);
  });

  test("isStringifiedString accepts JSON.stringify's escaping and no other", () => {
    for (let code = 0; code < 0x10000; code += code < 0x100 ? 1 : 97) {
      // A lone surrogate (escaped by JSON.stringify) is refused too, which only costs a parse.
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const json = JSON.stringify(`a${String.fromCharCode(code)}🌍`);
      assert.ok(isStringifiedString(json, 0, json.length), json);
    }
    const others = [
      '"\\/"',
      '"\\u00e9"',
      '"\\u000A"',
      '"\\u000a"',
      '"\\ud83c\\udf0d"',
      '"\\ud800"',
    ];
    for (const other of others) {
      assert.equal(isStringifiedString(other, 0, other.length), false, other);
    }
    for (const broken of ['"a"b"', '"\\"', '"', "x", '"\n"']) {
      assert.equal(isStringifiedString(broken, 0, broken.length), false, broken);
    }
  });
});
