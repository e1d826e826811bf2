import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeAnthropic, type FakeAnthropic } from "../../test/fixtures/fake-anthropic.ts";
import { eventually } from "../../test/fixtures/openai-compatible-settings.ts";
import { call as live } from "../../test/helpers/provider-calls.ts";
import { KeelError } from "../core/errors.ts";
import { createLogger } from "../core/logger.ts";
import { seededRandom } from "../core/random.ts";
import { Secret } from "../core/secret.ts";
import { createAnthropicProvider } from "./anthropic.ts";
import { AnthropicStreamTranslator } from "./anthropic-stream.ts";
import { malformedResponse } from "./http-errors.ts";
import type { Provider } from "./provider.ts";
import { readyChunks } from "./ready-chunks.ts";
import type { ChatCompletionChunk, ChatRequest } from "./schema.ts";
import { UpstreamClient } from "./upstream-http.ts";

/**
 * The Anthropic stream's fast lane (`takeReady()`) must hand out exactly the chunks, and the
 * error, that the async generator it replaced did. Each generated event stream goes over HTTP,
 * in reads of random sizes, through the provider (consumed as the gateway does) and through
 * the old generator, kept here verbatim over the same client.
 */

const KEY = "sk-ant-test-0123456789";
const PIECES = ["Hi", " there", ' "q"', "a/b", "\n", "é🌍", "\u0001", " more", "{", KEY];
const STOPS = ["end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal", null];

/** The SSE body of one generated Anthropic answer. */
function generate(pick: () => number): string {
  const n = (max: number) => Math.floor(pick() * max);
  const piece = () => PIECES[n(PIECES.length)]!;
  const named = pick() < 0.9; // Anthropic names every event; a proxy may drop the names.
  const out: string[] = [];
  const event = (data: { type: string } & Record<string, unknown>) => {
    const text = `data: ${JSON.stringify(data)}\n\n`;
    out.push(named ? `event: ${data.type}\n${text}` : text);
    if (pick() < 0.15) out.push(named ? "event: ping\n" : "", 'data: {"type":"ping"}\n\n');
  };
  const usage = { input_tokens: n(50), output_tokens: 1 };
  if (pick() < 0.2) Object.assign(usage, { cache_read_input_tokens: n(9) });
  const message = { id: `msg_${n(99)}`, type: "message", role: "assistant", model: "claude-x" };
  event({ type: "message_start", message: { ...message, content: [], usage } });
  for (let index = 0, blocks = n(4); index < blocks; index++) {
    const kind = ["text", "tool_use", "thinking"][n(3)]!;
    const block =
      kind === "tool_use"
        ? { type: kind, id: `toolu_${index}`, name: "f", input: {} }
        : { type: kind, [kind]: pick() < 0.3 ? piece() : "" };
    event({ type: "content_block_start", index, content_block: block });
    for (let d = n(12); d > 0; d--) {
      const delta =
        kind === "text"
          ? { type: "text_delta", text: piece() }
          : kind === "thinking"
            ? { type: "thinking_delta", thinking: piece() }
            : { type: "input_json_delta", partial_json: piece() };
      event({ type: "content_block_delta", index, delta });
      if (pick() < 0.01) out.push("data: {not json\n\n");
      if (pick() < 0.01) event({ type: "message_start", message: "not an object" });
    }
    if (pick() < 0.04) {
      const message = pick() < 0.5 ? "Overloaded" : `bad key ${KEY}`;
      event({ type: "error", error: { type: "overloaded_error", message } });
    }
    event({ type: "content_block_stop", index });
  }
  if (pick() < 0.1) event({ type: "some_future_event" });
  const stop = { stop_reason: STOPS[n(STOPS.length)], stop_sequence: null };
  event({ type: "message_delta", delta: stop, usage: { output_tokens: n(40) } });
  if (pick() < 0.9) event({ type: "message_stop" });
  if (pick() < 0.1) out.push("data: after the end\n\n");
  return out.join("");
}

/** An upstream that answers each POST with the next queued body, in reads of random sizes. */
class ScriptedUpstream {
  readonly bodies: string[] = [];
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    const pick = seededRandom(11);
    this.#server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const body = Buffer.from(this.bodies.shift() ?? "");
        res.writeHead(200, { "content-type": "text/event-stream" });
        void (async () => {
          for (let at = 0; at < body.length;) {
            const size = 1 + Math.floor(pick() * 600);
            res.write(body.subarray(at, at + size));
            at += size;
            // A pause makes the next write a read of its own.
            if (pick() < 0.5) await new Promise((resolve) => setImmediate(resolve));
          }
          res.end();
        })();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server!.close(() => resolve()));
  }
}

/** What a stream gave: its chunks, how many came through `takeReady()`, how it ended. */
interface Outcome {
  chunks: ChatCompletionChunk[];
  ready: number;
  error: Pick<KeelError, "code" | "status" | "message" | "retryable"> | undefined;
}

function errorOf(err: unknown): Outcome["error"] {
  assert.ok(err instanceof KeelError, String(err));
  const { code, status, message, retryable } = err;
  return { code, status, message, retryable };
}

/** The chunks as the gateway takes them: every ready chunk in one pass, then `next()`. */
async function viaFastLane(stream: AsyncIterable<ChatCompletionChunk>): Promise<Outcome> {
  const iterator = stream[Symbol.asyncIterator]();
  const lane = readyChunks(iterator);
  assert.ok(lane !== undefined, "the stream offers the fast lane");
  const outcome: Outcome = { chunks: [], ready: 0, error: undefined };
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      outcome.chunks.push(next.value);
      for (let chunk = lane.takeReady(); chunk !== undefined; chunk = lane.takeReady()) {
        outcome.chunks.push(chunk);
        outcome.ready++;
      }
    }
  } catch (err) {
    outcome.error = errorOf(err);
  }
  for (const chunk of outcome.chunks) {
    assert.equal(lane.textOf(chunk), undefined);
    assert.equal(lane.templateOf(chunk), undefined);
  }
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  return outcome;
}

/** The provider's stream as it was before the fast lane: an async generator over the events. */
async function* generatorPath(
  client: UpstreamClient,
  req: ChatRequest,
  signal: AbortSignal,
): AsyncGenerator<ChatCompletionChunk, void, undefined> {
  const translator = new AnthropicStreamTranslator({
    provider: client.provider,
    includeUsage: req.stream_options?.include_usage !== false,
    created: Math.floor(Date.now() / 1000),
    scrub: (text) => client.scrub(text),
  });
  const events = client.events("/v1/messages", { stream: true }, signal, {
    isEnd: (event) => event.event === "message_stop",
    completeWithoutEnd: () => translator.done,
  });
  for await (const event of events) {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw malformedResponse(client.provider, `${event.event ?? "message"} event`);
    }
    for (const chunk of translator.translate(data)) yield chunk;
  }
}

async function viaGenerator(stream: AsyncGenerator<ChatCompletionChunk>): Promise<Outcome> {
  const outcome: Outcome = { chunks: [], ready: 0, error: undefined };
  try {
    for await (const chunk of stream) outcome.chunks.push(chunk);
  } catch (err) {
    outcome.error = errorOf(err);
  }
  return outcome;
}

const hello = (includeUsage: boolean): ChatRequest => ({
  model: "claude-test",
  messages: [{ role: "user", content: "hi" }],
  stream_options: { include_usage: includeUsage },
});

function anthropic(url: string): Provider {
  const config = {
    type: "anthropic" as const,
    base_url: url,
    api_key_env: "ANTHROPIC_API_KEY",
    version: "2023-06-01",
    headers: {},
    max_connections: 4,
  };
  const ctx = { dataDir: "/tmp", logger: createLogger("silent"), apiKey: new Secret(KEY) };
  return createAnthropicProvider("claude", config, ctx);
}

describe("the Anthropic stream's fast lane", () => {
  const upstream = new ScriptedUpstream();
  let provider: Provider;
  let client: UpstreamClient;

  before(async () => {
    await upstream.start();
    provider = anthropic(upstream.url);
    client = new UpstreamClient({
      provider: "claude",
      baseUrlField: "base_url",
      baseUrl: upstream.url,
      connections: 4,
      headers: () => ({ "content-type": "application/json" }),
      secret: new Secret(KEY),
    });
  });
  after(async () => {
    await provider.close();
    await client.close();
    await upstream.close();
  });

  test("hands out the chunks and the error the generator did, in order", async () => {
    const pick = seededRandom(20_250_101);
    let ready = 0;
    let failed = 0;
    for (let s = 0; s < 150; s++) {
      const body = generate(pick);
      const req = hello(pick() < 0.7);
      upstream.bodies.push(body);
      const before = Math.floor(Date.now() / 1000);
      const fast = await viaFastLane(provider.stream(req, live()));
      upstream.bodies.push(body);
      const old = await viaGenerator(generatorPath(client, req, live().signal));
      // `created` is the second the stream opened; the two paths may straddle a second.
      for (const chunk of fast.chunks) assert.ok(chunk.created >= before, body);
      const stamp = (chunks: ChatCompletionChunk[]) => chunks.map((c) => ({ ...c, created: 0 }));
      assert.deepEqual(stamp(fast.chunks), stamp(old.chunks), body);
      assert.deepEqual(fast.error, old.error, body);
      if (fast.error !== undefined) assert.ok(!fast.error.message.includes(KEY));
      ready += fast.ready;
      if (fast.error !== undefined) failed++;
    }
    // The generator proves the chunks; these prove the run took both lanes and both endings.
    assert.ok(ready > 150, `only ${ready} chunks came through takeReady()`);
    assert.ok(failed > 10 && failed < 100, `${failed} of 150 streams failed`);
  });
});

describe("the Anthropic stream against the fake", () => {
  let fake: FakeAnthropic;
  let provider: Provider;

  before(async () => {
    fake = await startFakeAnthropic({ name: "claude" });
    provider = anthropic(fake.url);
  });
  after(async () => {
    await provider.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  test("the events one read carried are taken without waiting", async () => {
    // Without a delay the fake writes the whole answer at once.
    fake.configure({ reply: "one two three four five" });
    const iterator = provider.stream(hello(true), live())[Symbol.asyncIterator]();
    const lane = readyChunks(iterator)!;
    const first = await iterator.next();
    assert.equal(first.done, false);
    const ready: ChatCompletionChunk[] = [];
    for (let chunk = lane.takeReady(); chunk !== undefined; chunk = lane.takeReady()) {
      ready.push(chunk);
    }
    const text = ready.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "one two three four five");
    assert.deepEqual(ready.at(-1)!.usage?.completion_tokens, 5);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });

  test("return() before the first next() sends nothing", async () => {
    const iterator = provider.stream(hello(true), live())[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.return!(), { done: true, value: undefined });
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.equal(fake.requests.length, 0);
  });

  test("an early return() closes the upstream stream", async () => {
    fake.configure({
      reply: Array.from({ length: 50 }, (_, i) => `w${i}`).join(" "),
      chunkDelayMs: 20,
    });
    const iterator = provider.stream(hello(true), live())[Symbol.asyncIterator]();
    let next = await iterator.next();
    while (next.done !== true && !next.value.choices[0]?.delta.content) {
      next = await iterator.next();
    }
    assert.equal(next.done, false);
    assert.deepEqual(await iterator.return!(), { done: true, value: undefined });
    assert.equal(readyChunks(iterator)!.takeReady(), undefined);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    await eventually(() => fake.abortedRequests === 1, "the fake to see the socket close");
  });
});
