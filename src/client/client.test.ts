import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { KeelError } from "../core/errors.ts";
import { Secret } from "../core/secret.ts";
import { closedPort } from "../../test/helpers/closed-port.ts";
import { startKeel, type RunningKeel } from "../../test/helpers/keel.ts";
import { startFakeOpenAI, type FakeOpenAI } from "../../test/fixtures/fake-openai.ts";
import { startRecordingServer } from "../../test/fixtures/recording-server.ts";
import { errorTraceRecord, traceRecord } from "../../test/fixtures/trace-records.ts";
import { connect, createClient, type KeelClient } from "./client.ts";

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of stream) pieces.push(piece);
  return pieces;
}

function keelError(code: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof KeelError, `expected a KeelError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}

describe("typed client against a running Keel", () => {
  let upstream: FakeOpenAI;
  let server: RunningKeel;
  let client: KeelClient;
  const records = [
    traceRecord(T0),
    errorTraceRecord(T0 + 1_000),
    traceRecord(T0 + 2_000, { model: "summarizer" }),
  ];

  before(async () => {
    upstream = await startFakeOpenAI({ name: "fake" });
    server = await startKeel({
      providers: { up: { type: "openai-compatible", base_url: upstream.url } },
      models: [{ name: "support-bot", deployments: [{ provider: "up", model: "llama" }] }],
    });
    for (const record of records) server.keel.traces.enqueue(record);
    await server.keel.traces.flush();
    client = createClient({ baseUrl: server.url, apiKey: new Secret(server.apiKey) });
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  test("lists traces with filters and follows the cursor", async () => {
    const first = await client.listTraces({ model: "support-bot", limit: 1 });
    assert.deepEqual(
      first.data.map((t) => t.id),
      [records[1]!.id],
    );
    assert.equal(first.data[0]!.status, "error");
    assert.ok(first.next_cursor !== null);
    const second = await client.listTraces({
      model: "support-bot",
      limit: 1,
      cursor: first.next_cursor,
    });
    assert.deepEqual(
      second.data.map((t) => t.id),
      [records[0]!.id],
    );
    assert.equal(second.next_cursor, null);

    const window = await client.listTraces({
      since: new Date(T0 + 1_000),
      until: T0 + 2_000,
    });
    assert.deepEqual(
      window.data.map((t) => t.id),
      [records[1]!.id],
    );
  });

  test("gets one trace with its bodies and attempts", async () => {
    const trace = await client.getTrace(records[0]!.id);
    assert.equal(trace.started_at, "2026-01-31T12:00:00.000Z");
    assert.deepEqual(trace.request_body, records[0]!.request_body);
    assert.equal(trace.attempts[0]?.deployment, "vllm/llama");
  });

  test("a problem+json answer becomes a KeelError with the server's code and message", async () => {
    await assert.rejects(
      client.getTrace("trc_00000000000000000000000000"),
      keelError("not_found", /no trace with id/),
    );
    await assert.rejects(client.listTraces({ limit: 500 }), (err) => {
      keelError("invalid_request", /^limit: /)(err);
      assert.equal((err as KeelError).param, "limit");
      assert.equal((err as KeelError).status, 400);
      return true;
    });
  });

  test("streams chat content deltas as they arrive, and the call is traced", async () => {
    upstream.configure({ reply: "one two three" });
    const pieces = await collect(
      client.chatStream("support-bot", [{ role: "user", content: "count" }], undefined, {
        max_tokens: 16,
        temperature: 0,
      }),
    );
    assert.ok(pieces.length > 1, "more than one delta");
    assert.equal(pieces.join(""), "one two three");
    const sent = upstream.requests.at(-1)?.body;
    assert.equal(sent?.max_tokens, 16);
    assert.equal(sent?.temperature, 0);

    await server.keel.traces.flush();
    const page = await client.listTraces({ model: "support-bot", limit: 1 });
    assert.equal(page.data[0]?.stream, true);
    assert.ok(page.data[0].id > records[2]!.id, "the newest trace is the chat just made");
  });

  test("an unknown model is the server's OpenAI error, as a KeelError", async () => {
    await assert.rejects(
      collect(client.chatStream("no-such-model", [{ role: "user", content: "hi" }])),
      keelError("model_not_found", /no-such-model/),
    );
  });

  test("a stream the upstream cuts ends in an error, not a clean finish", async () => {
    upstream.queueFaults({ kind: "cut-stream", afterChunks: 2 });
    const pieces: string[] = [];
    await assert.rejects(async () => {
      for await (const piece of client.chatStream("support-bot", [
        { role: "user", content: "hi" },
      ])) {
        pieces.push(piece);
      }
    }, KeelError);
  });

  test("an aborted stream stops at once and leaves no connection behind", async () => {
    upstream.configure({ reply: "a b c d e f g h", chunkDelayMs: 20 });
    let opened = 0;
    const countConnection = () => void (opened += 1);
    server.keel.http.server.on("connection", countConnection);
    const controller = new AbortController();
    const pieces: string[] = [];
    try {
      await assert.rejects(async () => {
        for await (const piece of client.chatStream(
          "support-bot",
          [{ role: "user", content: "hi" }],
          controller.signal,
        )) {
          pieces.push(piece);
          controller.abort();
        }
      }, /abort/i);
      await sleep(100);
    } finally {
      server.keel.http.server.off("connection", countConnection);
      upstream.reset();
    }
    assert.equal(pieces.length, 1);
    // A spare connection would hold up the server's graceful shutdown.
    assert.equal(opened, 1, "only the stream's own connection was opened");
  });

  test("health reports readiness with the configured models", async () => {
    const health = await client.health();
    assert.equal(health.checks.database.ok, true);
    assert.ok("support-bot" in health.checks.models);
  });
});

describe("typed client at the edge", () => {
  test("sends the API key as a bearer token", async () => {
    const server = await startRecordingServer(200, JSON.stringify({ data: [], next_cursor: null }));
    try {
      const client = createClient({ baseUrl: server.url, apiKey: new Secret("sk-test-1") });
      assert.deepEqual(await client.listTraces(), { data: [], next_cursor: null });
      assert.equal(server.seen[0]?.headers.authorization, "Bearer sk-test-1");
    } finally {
      await server.close();
    }
  });

  test("an answer that is not the API's shape is an error naming the URL", async () => {
    const server = await startRecordingServer(200, JSON.stringify({ items: [] }));
    try {
      await assert.rejects(
        createClient({ baseUrl: server.url }).listTraces(),
        keelError("internal", /unexpected answer from http:\/\/127\.0\.0\.1:\d+\/api\/traces/),
      );
    } finally {
      await server.close();
    }
  });

  test("an error page that is not JSON keeps its status and shows its text", async () => {
    const server = await startRecordingServer(502, "<html>Bad Gateway</html>", "text/html");
    try {
      await assert.rejects(createClient({ baseUrl: server.url }).getTrace("trc_x"), (err) => {
        keelError("provider_error", /HTTP 502 from .*Bad Gateway/)(err);
        assert.equal((err as KeelError).status, 502);
        return true;
      });
    } finally {
      await server.close();
    }
  });
});

describe("typed client without a server", () => {
  test("connection refused names the URL and asks whether keel serve runs", async () => {
    const port = await closedPort();
    const client = createClient({ baseUrl: `http://127.0.0.1:${port}` });
    await assert.rejects(
      client.listTraces(),
      keelError(
        "server_unreachable",
        new RegExp(`http://127\\.0\\.0\\.1:${port}.*is keel serve running\\?`),
      ),
    );
    await assert.rejects(
      collect(client.chatStream("m", [{ role: "user", content: "hi" }])),
      keelError("server_unreachable"),
    );
  });

  test("a base URL that is not http(s) is refused with what to write instead", () => {
    assert.throws(
      () => createClient({ baseUrl: "127.0.0.1:4141" }),
      keelError("invalid_request", /http/),
    );
  });

  test("connect takes the URL from KEEL_URL unless one is given", () => {
    assert.equal(
      connect(undefined, { KEEL_URL: "http://10.0.0.5:9000/" }).baseUrl,
      "http://10.0.0.5:9000",
    );
    assert.equal(
      connect("http://127.0.0.1:1", { KEEL_URL: "http://x:2" }).baseUrl,
      "http://127.0.0.1:1",
    );
    assert.equal(connect(undefined, {}).baseUrl, "http://127.0.0.1:4141");
  });
});
