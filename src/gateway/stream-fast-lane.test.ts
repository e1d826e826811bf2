import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "../core/logger.ts";
import { createOpenAICompatibleProvider } from "../providers/openai-compatible.ts";
import { isPlainChatChunk, isPlainCompletion } from "../providers/openai-fast-checks.ts";
import type { Provider, ProviderCapabilities } from "../providers/provider.ts";
import {
  chatCompletionChunkSchema,
  completionSchema,
  type ChatCompletionChunk,
  type CompletionChunk,
} from "../providers/schema.ts";
import { truncatedStream } from "../providers/http-errors.ts";
import { SseParser } from "../providers/sse.ts";
import { parseAnswer } from "../providers/upstream-http.ts";
import type { TraceRecord } from "../traces/schema.ts";
import { createMemoryGateway, hello, meta, price } from "../../test/fixtures/memory-gateway.ts";
import type { SseSink } from "./sse-writer.ts";
import { seededRandom } from "../core/random.ts";

/**
 * The OpenAI-compatible provider's stream has a fast lane (`ReadyChunks`): the gateway relays
 * the chunks of one upstream read in one pass, and sends a chunk's own upstream text, model
 * swapped, instead of serialising it again. The client and the trace must not tell: each
 * generated stream goes through the real provider over HTTP, and through a provider that
 * parses the same body one chunk at a time with plain `JSON.parse` (the general path), and
 * both must put the same bytes on the wire and record the same trace.
 */

const EMAIL = "alice.smith@example.com";
const PIECES = [
  "Hi",
  " there",
  ' "q"',
  "a/b",
  "\n",
  "é🌍",
  "\u0001",
  " alice.smith@",
  "example.com",
];
const BENDS: ((json: string) => string)[] = [
  (json) => json.replace(/":/g, '": '),
  (json) => json.replace(/\//g, "\\/"),
  (json) => json.replace(/"created":(\d+)/, '"created":$1.0'),
  (json) => json.replace(/^\{/, '{"id":"shadowed",'),
];

type Kind = "chat" | "completion";

/** The SSE body of one generated stream. */
function generate(pick: () => number, kind: Kind): string {
  const n = (max: number) => Math.floor(pick() * max);
  const base = {
    id: `id-${n(100)}`,
    object: kind === "chat" ? "chat.completion.chunk" : "text_completion",
    created: 1_700_000_000,
    model: ["up-model", "m", 'q"d'][n(3)],
  };
  // OpenAI sends "usage":null on every chunk when asked for usage; vLLM can count on each.
  const running = [
    {},
    { usage: null },
    { usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
  ][pick() < 0.7 ? 0 : n(3)]!;
  const texts: string[] = [];
  const choice = (fields: Record<string, unknown>, finish: string | null = null) =>
    kind === "chat"
      ? { index: 0, delta: fields, finish_reason: finish, logprobs: null }
      : { index: 0, text: (fields.content as string | undefined) ?? "", finish_reason: finish };
  if (kind === "chat")
    texts.push(JSON.stringify({ ...base, choices: [choice({ role: "assistant", content: "" })] }));
  for (let i = n(14); i > 0; i--) {
    let content = "";
    for (let k = n(3); k >= 0; k--) content += PIECES[n(PIECES.length)];
    const json = JSON.stringify({ ...base, choices: [choice({ content })], ...running });
    texts.push(pick() < 0.1 ? BENDS[n(BENDS.length)]!(json) : json);
  }
  if (pick() < 0.1 && kind === "chat") {
    const call = {
      index: 0,
      id: "call_1",
      type: "function",
      function: { name: "f", arguments: "{}" },
    };
    texts.push(JSON.stringify({ ...base, choices: [choice({ tool_calls: [call] })] }));
  }
  if (pick() < 0.8 || texts.length === 0) {
    texts.push(JSON.stringify({ ...base, choices: [choice({}, "stop")] }));
  }
  const usage = { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 };
  if (pick() < 0.6) texts.push(JSON.stringify({ ...base, choices: [], usage }));
  const end = pick() < 0.8 ? "data: [DONE]\n\n" : "";
  return texts.map((t) => `data: ${t}\n\n`).join("") + end;
}

/** An upstream that answers each POST with the next queued body, in a few writes. */
class ScriptedUpstream {
  readonly bodies: string[] = [];
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    const pick = seededRandom(7);
    this.#server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const body = Buffer.from(this.bodies.shift() ?? "");
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (let at = 0; at < body.length;) {
          const size = 1 + Math.floor(pick() * 700);
          res.write(body.subarray(at, at + size));
          at += size;
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server!.close(() => resolve()));
  }
}

/**
 * The general path: the same body parsed event by event, each chunk `JSON.parse`d and checked
 * as the provider checks it, from an async generator (no fast lane).
 */
class PlainProvider implements Provider {
  readonly name = "up";
  readonly type = "openai-compatible" as const;
  readonly capabilities: ProviderCapabilities = {
    chat: true,
    completions: true,
    embeddings: false,
    logprobs: false,
    tools: true,
    score: false,
  };
  readonly bodies: string[] = [];

  chat(): never {
    throw new Error("streams only");
  }

  stream(): AsyncGenerator<ChatCompletionChunk> {
    return this.#chunks((data) =>
      parseAnswer("up", data, chatCompletionChunkSchema, "chat chunk", isPlainChatChunk),
    );
  }

  streamCompletion(): AsyncGenerator<CompletionChunk> {
    return this.#chunks((data) =>
      parseAnswer("up", data, completionSchema, "completion chunk", isPlainCompletion),
    );
  }

  async *#chunks<C extends { choices: { finish_reason?: string | null | undefined }[] }>(
    check: (data: unknown) => C,
  ): AsyncGenerator<C> {
    const parser = new SseParser();
    const events = [...parser.push(this.bodies.shift() ?? ""), ...parser.end()];
    let finished = false;
    for (const event of events) {
      if (event.data === "[DONE]") return;
      const chunk = check(JSON.parse(event.data));
      finished ||= chunk.choices.some((c) => c.finish_reason != null);
      yield chunk;
    }
    if (!finished) throw truncatedStream("up");
  }

  health() {
    return Promise.resolve({ ok: true });
  }

  close() {
    return Promise.resolve();
  }
}

class TextSink implements SseSink {
  readonly sent: string[] = [];
  closed = false;
  open() {}
  send(json: string) {
    this.sent.push(json);
    return undefined;
  }
  end() {
    this.closed = true;
  }
}

/** What a trace says that does not depend on timing or ids. */
function traceFacts(trace: TraceRecord) {
  const { status, finish_reason, error_code, prompt_tokens, completion_tokens, response_body } =
    trace;
  return {
    status,
    finish_reason,
    error_code,
    prompt_tokens,
    completion_tokens,
    response_body,
    metadata: trace.metadata,
  };
}

describe("the relay's fast lane", () => {
  const upstream = new ScriptedUpstream();
  const plain = new PlainProvider();
  let fast: Provider;

  before(async () => {
    await upstream.start();
    fast = createOpenAICompatibleProvider(
      "up",
      {
        type: "openai-compatible",
        preset: "vllm",
        base_url: upstream.url,
        max_connections: 4,
        headers: {},
        stream_usage: true,
      },
      { dataDir: "/tmp", logger: createLogger("silent"), apiKey: undefined },
    );
  });
  after(async () => {
    await fast.close();
    await upstream.close();
  });

  const model = (guarded: boolean) => ({
    name: "m",
    price,
    deployments: [{ provider: "up", model: "up-model" }],
    ...(guarded ? { guardrails: { pii: { output: { entities: { email: "redact" } } } } } : {}),
  });

  test("sends the bytes and records the trace the general path does", async () => {
    const pick = seededRandom(424_242);
    let streams = 0;
    for (const guarded of [false, true]) {
      const config = { models: [model(guarded)], traces: { bodies: "full" } };
      const viaFast = createMemoryGateway([fast], config);
      const viaPlain = createMemoryGateway([plain], config);
      for (let s = 0; s < 60; s++) {
        const kind: Kind = pick() < 0.7 ? "chat" : "completion";
        const body = generate(pick, kind);
        upstream.bodies.push(body);
        plain.bodies.push(body);
        const usage = pick() < 0.5 ? { stream_options: { include_usage: true } } : {};
        const sinks = [new TextSink(), new TextSink()];
        const gateways = [viaFast.gateway, viaPlain.gateway];
        for (let g = 0; g < 2; g++) {
          const gateway = gateways[g]!;
          const session =
            kind === "chat"
              ? await gateway.streamChat(hello("m", { stream: true, ...usage }), meta())
              : await gateway.streamCompletion(
                  { model: "m", prompt: "Say hi", stream: true, ...usage },
                  meta(),
                );
          await session.pipeTo(sinks[g]!);
        }
        assert.deepEqual(sinks[0]!.sent, sinks[1]!.sent, body);
        const [a, b] = [viaFast.traces.at(-1)!, viaPlain.traces.at(-1)!];
        assert.deepEqual(traceFacts(a), traceFacts(b), body);
        streams++;
      }
      assert.equal(viaFast.traces.length, 60);
    }
    assert.equal(streams, 120);
  });

  test("a redacted chunk is serialised again, not sent as the upstream wrote it", async () => {
    const { gateway } = createMemoryGateway([fast], { models: [model(true)] });
    const chunk = (content: string) =>
      JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "up-model",
        choices: [{ index: 0, delta: { content }, finish_reason: null }],
      });
    const texts = [chunk("Write to "), chunk("me at "), chunk(EMAIL), chunk(" today")];
    upstream.bodies.push(`${texts.map((t) => `data: ${t}\n\n`).join("")}data: [DONE]\n\n`);
    const sink = new TextSink();
    await (await gateway.streamChat(hello("m", { stream: true }), meta())).pipeTo(sink);
    const content = sink.sent
      .map((json) => (JSON.parse(json) as ChatCompletionChunk).choices[0]?.delta.content ?? "")
      .join("");
    assert.equal(content, "Write to me at [EMAIL] today");
    assert.ok(sink.sent.every((json) => json.includes('"model":"m"')));
  });
});
