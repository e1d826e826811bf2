import type { ChunkTemplate } from "./chunk-template.ts";
import type { ReadyChunks } from "./ready-chunks.ts";
import type { SseEvent } from "./sse.ts";
import type { UpstreamEvents } from "./upstream-events.ts";
import type { StreamEnd } from "./upstream-http.ts";

/**
 * A provider's stream of chunks made from one upstream answer's SSE events: what
 * `OpenAIChunkStream` and `AnthropicChunkStream` share. A plain class rather than an async
 * generator: the gateway takes the chunks one upstream read carried in one synchronous pass
 * (`takeReady()`, see `ready-chunks.ts`), and `next()` costs one promise, not a generator hop
 * per chunk.
 *
 * The request goes out on the first `next()` (`open`). A subclass turns events into chunks as
 * they are taken (`readyChunk`), not when their read arrives, so the chunks before a malformed
 * event still reach the client, as they would one `next()` at a time; a chunk that cannot be
 * made ends the stream and lets go of the upstream. The stream is over when the events are.
 */
export abstract class EventChunkStream<C>
  implements AsyncIterableIterator<C, undefined>, ReadyChunks<C>, StreamEnd
{
  #events: UpstreamEvents | undefined;
  #done = false;

  abstract isEnd(event: SseEvent): boolean;
  abstract completeWithoutEnd(): boolean;
  abstract textOf(chunk: C): string | undefined;
  abstract templateOf(chunk: C): ChunkTemplate | undefined;

  /** Sends the request; called once, on the first read. */
  protected abstract open(end: StreamEnd): UpstreamEvents;

  /** The next chunk made from events already read; undefined when there is none yet. */
  protected abstract readyChunk(events: UpstreamEvents): C | undefined;

  [Symbol.asyncIterator](): this {
    return this;
  }

  takeReady(): C | undefined {
    const events = this.#events;
    if (this.#done || events === undefined) return undefined;
    try {
      return this.readyChunk(events);
    } catch (err) {
      this.#done = true;
      void events.return();
      throw err;
    }
  }

  async next(): Promise<IteratorResult<C, undefined>> {
    try {
      for (;;) {
        const chunk = this.takeReady();
        if (chunk !== undefined) return { done: false, value: chunk };
        if (this.#done) break;
        this.#events ??= this.open(this);
        if (!(await this.#events.fill())) break;
      }
    } catch (err) {
      this.#done = true;
      throw err;
    }
    this.#done = true;
    return { done: true, value: undefined };
  }

  return(): Promise<IteratorResult<C, undefined>> {
    this.#done = true;
    void this.#events?.return();
    return Promise.resolve({ done: true, value: undefined });
  }
}
