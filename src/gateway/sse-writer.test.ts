import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { once } from "node:events";
import { connect } from "node:net";
import { SseWriter } from "./sse-writer.ts";

async function serve(handler: (writer: SseWriter) => Promise<void> | void): Promise<{
  server: Server;
  url: string;
}> {
  const server = createServer((_req, res) => {
    void handler(new SseWriter(res, { "x-keel-trace-id": "trc_1", "x-count": 2 }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

function get(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    httpRequest(url, resolve).on("error", reject).end();
  });
}

async function text(res: IncomingMessage): Promise<string> {
  let out = "";
  res.setEncoding("utf8");
  for await (const chunk of res) out += chunk as string;
  return out;
}

describe("SSE writer", () => {
  test("writes data events and a final [DONE] with event-stream headers", async () => {
    const { server, url } = await serve((w) => {
      w.open();
      assert.equal(w.send('{"a":1}'), undefined);
      assert.equal(w.send('{"b":2}'), undefined);
      w.end();
      assert.equal(w.closed, true);
    });
    try {
      const res = await get(url);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
      assert.equal(res.headers["x-keel-trace-id"], "trc_1");
      assert.equal(res.headers["x-count"], "2");
      assert.equal(await text(res), 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n');
    } finally {
      server.close();
    }
  });

  test("the events of one tick go out as one HTTP chunk, without waiting for more", async () => {
    let finish!: () => void;
    const { server, url } = await serve(async (w) => {
      w.open();
      void w.send('{"a":1}');
      void w.send('{"b":2}');
      void w.send('{"c":3}');
      await new Promise<void>((resolve) => (finish = resolve));
      w.end();
    });
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    try {
      socket.write("GET / HTTP/1.1\r\nhost: keel\r\n\r\n");
      let raw = "";
      socket.setEncoding("utf8");
      // The three events arrive while the writer is still open: nothing waits for end().
      for await (const chunk of socket) {
        raw += chunk as string;
        if (raw.includes('{"c":3}')) break;
      }
      const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
      const frames = body.split("\r\n").filter((line) => /^[0-9a-f]+$/.test(line));
      assert.equal(frames.length, 1, `one chunk frame, got: ${JSON.stringify(body)}`);
      assert.match(body, /data: \{"a":1\}\n\ndata: \{"b":2\}\n\ndata: \{"c":3\}\n\n/);
    } finally {
      finish();
      socket.destroy();
      server.close();
    }
  });

  test("waits for the socket to drain when the client reads slowly", async () => {
    const big = JSON.stringify({ pad: "x".repeat(256 * 1024) });
    let waited = false;
    const { server, url } = await serve(async (w) => {
      w.open();
      for (let i = 0; i < 64; i++) {
        const pending = w.send(big);
        if (pending !== undefined) {
          waited = true;
          await pending;
          break;
        }
      }
      w.end();
    });
    try {
      const res = await get(url);
      const body = await text(res);
      assert.equal(waited, true, "send never reported back-pressure");
      assert.ok(body.endsWith("data: [DONE]\n\n"));
    } finally {
      server.close();
    }
  });

  test("a client that disconnects releases a writer waiting to drain", async () => {
    const big = JSON.stringify({ pad: "x".repeat(256 * 1024) });
    let release!: (closed: boolean) => void;
    const released = new Promise<boolean>((resolve) => (release = resolve));
    const { server, url } = await serve(async (w) => {
      w.open();
      // The client never reads: the socket buffers fill, then the writer waits on 'drain'
      // until the disconnect releases it.
      for (let i = 0; i < 400 && !w.closed; i++) await w.send(big);
      release(w.closed);
    });
    try {
      const res = await get(url);
      setTimeout(() => res.destroy(), 50);
      assert.equal(await released, true);
    } finally {
      server.close();
    }
  });
});
