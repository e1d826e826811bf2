import type { Dispatcher } from "undici";
import { KeelError } from "../core/errors.ts";
import { errorFromAbort, truncatedStream } from "./http-errors.ts";
import { SseParser, type SseEvent } from "./sse.ts";
import type { StreamEnd } from "./upstream-http.ts";

type Body = Dispatcher.ResponseData["body"];

const DRAIN_LIMIT_BYTES = 64 * 1024;
const ignore = (): undefined => undefined;

/**
 * The SSE events of one upstream answer (what `UpstreamClient.events` returns). An async
 * iterator of events, for consumers that take them one at a time, which also lets a consumer
 * on the hot path take every event one upstream read carried in one synchronous pass: `take()`
 * hands out an event already read, `fill()` waits for the next read.
 *
 * Nothing is sent before the first `fill()` (or `next()`); a non-2xx status throws then, before
 * any event. A body that breaks off before the `end` event says the stream is complete throws
 * a retryable `provider_error`. A finished answer keeps its connection for reuse; one the
 * consumer lets go of early (`return()`) or that fails is cut, which tells the upstream to stop
 * generating.
 */
export class UpstreamEvents implements AsyncIterableIterator<SseEvent, undefined> {
  readonly #provider: string;
  readonly #signal: AbortSignal;
  readonly #end: StreamEnd;
  #open: (() => Promise<Body>) | undefined;
  #body: Body | undefined;
  #chunks: AsyncIterator<Uint8Array> | undefined;
  readonly #parser = new SseParser();
  /** Events read and not taken yet: `#ready[#taken..]`. */
  readonly #ready: SseEvent[] = [];
  #taken = 0;
  /** Set once the stream is over: ended, failed, or let go of by its consumer. */
  #closed = false;
  #complete = false;

  constructor(provider: string, open: () => Promise<Body>, signal: AbortSignal, end: StreamEnd) {
    this.#provider = provider;
    this.#open = open;
    this.#signal = signal;
    this.#end = end;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next event already read, without waiting; undefined when there is none (yet). */
  take(): SseEvent | undefined {
    if (this.#closed || this.#taken === this.#ready.length) return undefined;
    const event = this.#ready[this.#taken++]!;
    if (this.#end.isEnd(event)) {
      this.#complete = true;
      this.#close();
    }
    return event;
  }

  /** Waits until an event is ready to `take()`; false once the stream has ended whole. */
  async fill(): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#taken < this.#ready.length) return true;
    const chunks = this.#chunks ?? (await this.#start());
    if (chunks === undefined) return false;
    const ready = this.#ready;
    ready.length = 0;
    this.#taken = 0;
    try {
      for (;;) {
        const read = await chunks.next();
        if (read.done === true) break;
        this.#parser.pushTo(read.value, ready);
        if (ready.length > 0) return true;
      }
      this.#parser.endTo(ready);
      if (ready.length > 0) return true;
      if (!this.#end.completeWithoutEnd()) throw truncatedStream(this.#provider);
      this.#complete = true;
      this.#close();
      return false;
    } catch (err) {
      this.#close();
      if (this.#signal.aborted) throw errorFromAbort(this.#provider, this.#signal.reason);
      if (err instanceof KeelError) throw err;
      throw truncatedStream(this.#provider, err);
    }
  }

  async next(): Promise<IteratorResult<SseEvent, undefined>> {
    const event = this.take() ?? ((await this.fill()) ? this.take() : undefined);
    return event === undefined ? { done: true, value: undefined } : { done: false, value: event };
  }

  /** Lets go of the stream: nothing is sent if it had not started, else the body is cut. */
  return(): Promise<IteratorResult<SseEvent, undefined>> {
    this.#open = undefined;
    this.#close();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Sends the request (its errors are already typed); undefined when let go of meanwhile. */
  async #start(): Promise<AsyncIterator<Uint8Array> | undefined> {
    const open = this.#open;
    if (open === undefined) return undefined;
    this.#open = undefined;
    const body = await open();
    this.#body = body;
    const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>;
    this.#chunks = chunks;
    if (this.#closed) {
      // Let go of while the request was on its way: cut the answer now that there is one.
      this.#closed = false;
      this.#close();
      return undefined;
    }
    return chunks;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const body = this.#body;
    const chunks = this.#chunks;
    if (body === undefined || chunks === undefined) return;
    const released = chunks.return?.() ?? Promise.resolve();
    if (this.#complete) {
      // The reader's 'readable' listener must be gone first, or dump() could not drain the body.
      void released.then(() => body.dump({ limit: DRAIN_LIMIT_BYTES }).catch(ignore), ignore);
      return;
    }
    released.catch(ignore);
    if (!body.destroyed) {
      body.on("error", ignore); // undici reports the cut as an abort error
      body.destroy();
    }
  }
}
