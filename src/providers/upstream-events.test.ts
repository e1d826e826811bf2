import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { eventually } from "../../test/fixtures/openai-compatible-settings.ts";
import type { SseEvent } from "./sse.ts";
import { UpstreamClient, type StreamEnd } from "./upstream-http.ts";

/**
 * The SSE events of an upstream answer: taken one read at a time without a promise per event,
 * the request sent only on the first read, a finished answer's connection kept for the next
 * call, and an answer let go of early cut.
 */

type Handler = (res: ServerResponse) => void;

describe("upstream events", () => {
  let server: Server;
  let client: UpstreamClient;
  let handler: Handler = () => undefined;
  let requests = 0;
  const sockets = new Set<unknown>();
  let closedEarly = 0;

  before(async () => {
    server = createServer((req, res) => {
      requests++;
      sockets.add(req.socket);
      res.on("close", () => {
        if (!res.writableFinished) closedEarly++;
      });
      req.resume();
      req.on("end", () => handler(res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    client = new UpstreamClient({
      provider: "up",
      baseUrlField: "providers.up.base_url",
      baseUrl: `http://127.0.0.1:${port}/v1`,
      connections: 1,
      headers: () => ({ "content-type": "application/json" }),
      secret: undefined,
    });
  });
  after(async () => {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    requests = 0;
    sockets.clear();
    closedEarly = 0;
  });

  const untilDone: StreamEnd = {
    isEnd: (event) => event.data === "[DONE]",
    completeWithoutEnd: () => false,
  };
  const open = () => client.events("/chat", {}, new AbortController().signal, untilDone);

  test("the events of one read are taken without waiting, then fill() waits for the next", async () => {
    let second: (() => void) | undefined;
    handler = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: 1\n\ndata: 2\n\ndata: 3\n\n");
      second = () => res.end("data: 4\n\ndata: [DONE]\n\n");
    };
    const events = open();
    assert.equal(events.take(), undefined, "nothing is read before fill()");
    assert.equal(await events.fill(), true);
    const taken = [events.take(), events.take(), events.take()].map((e) => e?.data);
    assert.deepEqual(taken, ["1", "2", "3"]);
    assert.equal(events.take(), undefined);
    second!();
    assert.equal(await events.fill(), true);
    assert.deepEqual([events.take()?.data, events.take()?.data], ["4", "[DONE]"]);
    assert.equal(await events.fill(), false, "the end event ends the stream");
  });

  test("nothing is sent when the stream is let go of before its first read", async () => {
    const events = open();
    await events.return();
    assert.equal(await events.fill(), false);
    assert.equal(requests, 0);
  });

  test("a finished answer leaves its connection to the next call", async () => {
    handler = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: a\n\ndata: [DONE]\n\n");
      // The body ends after [DONE] was read: drained, not read as events, and not cut.
      setTimeout(() => res.end(": after\n\n"), 20);
    };
    for (let i = 0; i < 3; i++) {
      const seen: string[] = [];
      for await (const event of open()) seen.push(event.data);
      assert.deepEqual(seen, ["a", "[DONE]"]);
    }
    assert.equal(requests, 3);
    assert.equal(sockets.size, 1, "one connection served the three calls");
  });

  test("an answer let go of mid-way is cut", async () => {
    handler = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
    };
    const seen: SseEvent[] = [];
    for await (const event of open()) {
      seen.push(event);
      break;
    }
    assert.equal(seen.length, 1);
    await eventually(() => closedEarly === 1, "the upstream to see the cut");
  });

  test("a body that ends before the end event is a retryable provider_error", async () => {
    handler = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("data: only\n\n");
    };
    const events = open();
    assert.equal(await events.fill(), true);
    assert.equal(events.take()?.data, "only");
    await assert.rejects(events.fill(), (err: unknown) => {
      assert.equal((err as { code?: string }).code, "provider_error");
      assert.equal((err as { retryable?: boolean }).retryable, true);
      return true;
    });
    assert.equal(await events.fill(), false, "a failed stream stays ended");
  });
});
