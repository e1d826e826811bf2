import type { ServerResponse } from "node:http";

/** Headers as Fastify's `reply.getHeaders()` returns them. */
export type HeaderMap = Record<string, string | number | string[] | undefined>;

/**
 * Server-sent events onto a raw HTTP response, OpenAI style: `data: {json}\n\n` per event
 * and `data: [DONE]\n\n` at the end. Writes go straight to the response, no timers and no
 * buffering of our own (Node already coalesces the writes of one tick into one syscall).
 * When the socket's buffer is full, `send` returns a promise that settles on 'drain' (or on
 * 'close', so a vanished client never leaves the writer waiting).
 */
export interface SseSink {
  /** True once the response has ended or the connection closed. */
  readonly closed: boolean;
  /** Sends the status line and headers. */
  open(): void;
  /** Sends one event; a promise only when the caller must wait for the socket to drain. */
  send(json: string): Promise<void> | undefined;
  /** Sends `[DONE]` and ends the response. */
  end(): void;
}

export class SseWriter implements SseSink {
  readonly #res: ServerResponse;
  readonly #headers: HeaderMap;
  #ended = false;
  #disconnected = false;

  constructor(res: ServerResponse, headers: HeaderMap = {}) {
    this.#res = res;
    this.#headers = headers;
    res.once("close", () => {
      this.#disconnected = true;
    });
  }

  get closed(): boolean {
    return this.#ended || this.#disconnected || this.#res.destroyed || this.#res.writableEnded;
  }

  open(): void {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(this.#headers)) {
      if (value !== undefined) headers[name] = typeof value === "number" ? String(value) : value;
    }
    this.#res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
  }

  send(json: string): Promise<void> | undefined {
    if (this.closed) return undefined;
    if (this.#res.write(`data: ${json}\n\n`)) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        this.#res.off("drain", done);
        this.#res.off("close", done);
        resolve();
      };
      this.#res.on("drain", done);
      this.#res.on("close", done);
    });
  }

  end(): void {
    if (this.closed) return;
    this.#ended = true;
    this.#res.end("data: [DONE]\n\n");
  }
}
