import type { ServerResponse } from "node:http";

/** Headers as Fastify's `reply.getHeaders()` returns them. */
export type HeaderMap = Record<string, string | number | string[] | undefined>;

/**
 * Server-sent events onto a raw HTTP response, OpenAI style: `data: {json}\n\n` per event
 * and `data: [DONE]\n\n` at the end. The events sent in one tick of the event loop (an upstream
 * read often carries several) go out as one HTTP chunk at the end of the tick, or at once past
 * FLUSH_CHARS: one chunk frame and one write instead of one per event, and no added latency.
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

/** Pending text written at once beyond this, without waiting for the end of the tick. */
const FLUSH_CHARS = 16 * 1024;

export class SseWriter implements SseSink {
  readonly #res: ServerResponse;
  readonly #headers: HeaderMap;
  #ended = false;
  #disconnected = false;
  #pending = "";
  #scheduled = false;

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
    this.#pending += `data: ${json}\n\n`;
    if (this.#pending.length >= FLUSH_CHARS) {
      return this.#write() ? undefined : this.#drained();
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
    return this.#res.writableNeedDrain ? this.#drained() : undefined;
  }

  end(): void {
    if (this.closed) return;
    this.#ended = true;
    const text = `${this.#pending}data: [DONE]\n\n`;
    this.#pending = "";
    this.#res.end(text);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (!this.closed) this.#write();
  };

  /** Writes what is pending; false when the socket's buffer is full. */
  #write(): boolean {
    if (this.#pending === "") return true;
    const text = this.#pending;
    this.#pending = "";
    return this.#res.write(text);
  }

  #drained(): Promise<void> {
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
}
