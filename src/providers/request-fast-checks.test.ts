import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { z } from "zod";
import { seededRandom } from "../core/random.ts";
import type { FastCheck } from "./openai-fast-checks.ts";
import {
  isPlainChatRequest,
  isPlainCompletionRequest,
  isPlainEmbeddingRequest,
} from "./request-fast-checks.ts";
import { chatRequestSchema, completionRequestSchema, embeddingRequestSchema } from "./schema.ts";

type Fields = Record<string, unknown>;

const MAX = Number.MAX_SAFE_INTEGER;

/** Values the schemas accept for each field, bounds included; listed in the schemas' order. */
const sampling: [string, unknown[]][] = [
  ["temperature", [0, -0, 0.7, 2, null]],
  ["top_p", [0, 0.5, 1, null]],
  ["n", [1, 3, 16, null]],
  ["stop", ["\n", [], ["a", "b", "c", "d"], null]],
  ["max_tokens", [1, 16, MAX, null]],
  ["seed", [0, -5, -MAX, MAX, null]],
  ["presence_penalty", [-2, 0, 1.5, 2, null]],
  ["frequency_penalty", [-2, 0.5, 2, null]],
  ["user", ["u", ""]],
  ["stream", [true, false, null]],
  ["stream_options", [{ include_usage: true }, { include_usage: false }, {}, null]],
];

const textPart = { type: "text", text: "look" };
const message: [string, unknown[]][] = [
  ["role", ["system", "developer", "user", "assistant", "tool", "function"]],
  ["content", ["Say hello in five words.", "", null, [], [textPart, textPart]]],
  ["name", ["ann", ""]],
];

const chatOnly: [string, unknown[]][] = [
  ["max_completion_tokens", [1, 64, null]],
  [
    "response_format",
    [{ type: "text" }, { type: "json_schema", json_schema: { name: "x" } }, null],
  ],
  ["logprobs", [true, false, null]],
  ["top_logprobs", [0, 20, null]],
];

const embeddingOnly: [string, unknown[]][] = [
  ["encoding_format", ["float", "base64"]],
  ["dimensions", [1, 256]],
  ["user", ["u"]],
];

const model: [string, unknown[]] = ["model", ["m", "org/model"]];
const strings = ["hello", "", ["a"], ["a", "b", "c", "d", "e"]];

/** Wrong values a field might hold, values just past the schema's bounds, right ones misplaced. */
const oddValues: unknown[] = [
  ...[null, "", "x", "user", "text", "float", true, [], [""], [1, 2], [[1]], [null], {}],
  ...[0, -0, -1, 1.5, 4, 5, 16, 17, 20, 21, 1.0001, 2.0001, -2.0001, -1e-9],
  ...[NaN, Infinity, -Infinity, MAX + 2, 2 ** 60, -(2 ** 60)],
  ...[["a", "b", "c", "d", "e"], { type: "text" }, { type: "image_url", image_url: { url: "u" } }],
  ...[{ role: "user" }, { role: "bot", content: "" }, { include_usage: 1 }],
];
const extraKeys = ["extra", "tools", "tool_choice", "tool_calls", "image_url", "0", "__proto__"];

interface Case {
  name: string;
  check: FastCheck;
  schema: z.ZodType;
  /** A fresh valid body with its fields in the schema's order. */
  body(pick: Picker): Fields;
  common: Fields[];
}

interface Picker {
  chance(p: number): boolean;
  one<T>(items: readonly T[]): T;
}

/** Some of `fields`, each with one of its values, in the order listed. */
function someOf(pick: Picker, fields: [string, unknown[]][], required: number): Fields {
  const out: Fields = {};
  fields.forEach(([key, values], i) => {
    if (i < required || pick.chance(0.3)) out[key] = structuredClone(pick.one(values));
  });
  return out;
}

const cases: Case[] = [
  {
    name: "chat request",
    check: isPlainChatRequest,
    schema: chatRequestSchema,
    body: (pick) => {
      const messages = Array.from({ length: pick.one([1, 2, 3, 10]) }, () =>
        someOf(pick, message, 1),
      );
      return someOf(pick, [model, ["messages", [messages]], ...sampling, ...chatOnly], 2);
    },
    common: [
      {
        model: "m",
        messages: [{ role: "user", content: "Say hello in five words." }],
        max_tokens: 16,
      },
      {
        model: "m",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: [textPart], name: "ann" },
          { role: "assistant", content: null },
        ],
        temperature: 0.2,
        stop: ["\n"],
        stream: true,
        stream_options: { include_usage: true },
        response_format: { type: "json_schema", json_schema: { name: "x", schema: {} } },
        logprobs: true,
        top_logprobs: 2,
      },
    ],
  },
  {
    name: "completion request",
    check: isPlainCompletionRequest,
    schema: completionRequestSchema,
    body: (pick) => someOf(pick, [model, ["prompt", strings], ...sampling], 2),
    common: [{ model: "m", prompt: "Once upon a time", temperature: 0, max_tokens: 16 }],
  },
  {
    name: "embedding request",
    check: isPlainEmbeddingRequest,
    schema: embeddingRequestSchema,
    body: (pick) => someOf(pick, [model, ["input", strings], ...embeddingOnly], 2),
    common: [
      { model: "m", input: "hello" },
      { model: "m", input: ["a", "b"], encoding_format: "base64" },
    ],
  },
];

/** Every object and array inside `value`, itself first. */
function containers(value: unknown, out: (Fields | unknown[])[] = []): (Fields | unknown[])[] {
  if (typeof value !== "object" || value === null) return out;
  out.push(value as Fields | unknown[]);
  for (const child of Object.values(value)) containers(child, out);
  return out;
}

function setOwn(target: Fields, key: string, value: unknown): void {
  // defineProperty, so that "__proto__" becomes a key as JSON.parse makes it, not a prototype.
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** One subtle change somewhere in `body`: a wrong value, a missing or extra key, a new order. */
function mutate(pick: Picker, body: Fields): void {
  const node = pick.chance(0.5) ? body : pick.one(containers(body));
  const odd = () => structuredClone(pick.one(oddValues));
  if (Array.isArray(node)) {
    const i = Math.floor(pick.one([0, 0.5, 0.99]) * node.length);
    const op = pick.one(["replace", "remove", "add", "empty", "hole"]);
    if (op === "replace" && node.length > 0) node[i] = odd();
    else if (op === "remove") node.splice(i, 1);
    else if (op === "add") node.push(pick.chance(0.5) ? odd() : structuredClone(node[0]));
    else if (op === "empty") node.length = 0;
    else node.length += 1;
    return;
  }
  const keys = Object.keys(node);
  const key = pick.one(keys.length > 0 ? keys : ["model"]);
  const op = pick.one(["replace", "replace", "remove", "extra", "reorder", "prototype"]);
  if (op === "replace") node[key] = pick.chance(0.1) ? undefined : odd();
  else if (op === "remove") delete node[key];
  else if (op === "extra") setOwn(node, pick.one(extraKeys), odd());
  else if (op === "reorder") {
    // Reversed, or one key moved to the end.
    const entries: [string, unknown][] = pick.chance(0.5)
      ? Object.entries(node).reverse()
      : [[key, node[key]]];
    for (const [k] of entries) delete node[k];
    for (const [k, v] of entries) setOwn(node, k, v);
  } else Object.setPrototypeOf(node, pick.chance(0.5) ? null : { inherited: true });
}

function picker(seed: number): Picker {
  const random = seededRandom(seed);
  return {
    chance: (p) => random() < p,
    one: (items) => items[Math.floor(random() * items.length)]!,
  };
}

describe("fast checks of gateway requests", () => {
  for (const c of cases) {
    test(`common ${c.name}s take the fast path and satisfy the schema as they are`, () => {
      for (const body of c.common) {
        assert.equal(c.check(body), true, JSON.stringify(body));
        assert.deepEqual(c.schema.parse(body), body);
      }
    });

    test(`${c.name}s the fast check passes are ones zod returns deep-equal`, () => {
      const pick = picker(0x5eed + c.name.length);
      let passed = 0;
      let refused = 0;
      for (let n = 0; n < 10_000; n++) {
        const body = c.body(pick);
        const changes = pick.one([0, 1, 1, 1, 2, 3]);
        if (changes === 0) assert.equal(c.check(body), true, `refused ${JSON.stringify(body)}`);
        for (let k = 0; k < changes; k++) mutate(pick, body);
        const subject = pick.chance(0.01) ? pick.one(oddValues) : body;
        if (!c.check(subject)) {
          refused += 1;
          continue;
        }
        passed += 1;
        const parsed = c.schema.safeParse(subject);
        assert.ok(parsed.success, `fast check passed ${JSON.stringify(subject)}`);
        // Every value the same (key order aside: the client's is kept).
        assert.deepEqual(parsed.data, subject);
      }
      assert.ok(passed > 1000 && refused > 2000, `passed ${passed}, refused ${refused}`);
    });
  }

  test("bodies in any key order take the fast path, as OpenAI's Python SDK sends them", () => {
    const python = {
      messages: [{ content: "hi", role: "user" }],
      model: "m",
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 1,
    };
    assert.equal(isPlainChatRequest(python), true);
    assert.deepEqual(chatRequestSchema.parse(python), python);
    assert.equal(isPlainEmbeddingRequest({ input: ["a"], model: "m" }), true);
    assert.equal(isPlainChatRequest({ messages: [{ role: "user" }] }), false, "model missing");
    assert.equal(isPlainChatRequest({ model: "m" }), false, "messages missing");
  });

  test("tools, images and tool messages go to the full schema", () => {
    const user = { role: "user", content: "hi" };
    const elsewhere: Fields[] = [
      { model: "m", messages: [user], tools: [{ type: "function" }] },
      { model: "m", messages: [{ role: "user", content: [{ type: "image_url" }] }] },
      { model: "m", messages: [{ role: "tool", content: "42", tool_call_id: "t" }] },
    ];
    for (const body of elsewhere) {
      assert.equal(isPlainChatRequest(body), false, JSON.stringify(body));
      assert.equal(chatRequestSchema.safeParse(body).success, true);
    }
    assert.equal(isPlainEmbeddingRequest({ model: "m", input: [1, 2] }), false);
  });
});
