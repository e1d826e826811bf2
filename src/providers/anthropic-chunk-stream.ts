import type { AnthropicStreamTranslator } from "./anthropic-stream.ts";
import { malformedResponse } from "./http-errors.ts";
import type { ReadyChunks } from "./ready-chunks.ts";
import type { ChatCompletionChunk } from "./schema.ts";
import type { SseEvent } from "./sse.ts";
import type { UpstreamEvents } from "./upstream-events.ts";
import type { StreamEnd } from "./upstream-http.ts";

/** One Anthropic answer being read: its events and the translator that turns them into chunks. */
export interface AnthropicUpstream {
  events: UpstreamEvents;
  translator: AnthropicStreamTranslator;
}

/**
 * The OpenAI chunks of an Anthropic Messages event stream, up to `message_stop`. Each event is
 * parsed and translated as it is taken, not when its read arrives, so that the chunks before a
 * malformed or `error` event still reach the client, as they would one `next()` at a time. The
 * request goes out on the first `next()`.
 *
 * A plain class rather than an async generator, for the same reason as `OpenAIChunkStream`: the
 * gateway takes the chunks one upstream read carried in one synchronous pass (`takeReady()`),
 * and `next()` costs one promise, not a generator hop per chunk. The chunks are Keel's own
 * translation, never the upstream's text, so `textOf()` and `templateOf()` have none to offer.
 */
export class AnthropicChunkStream
  implements
    AsyncIterableIterator<ChatCompletionChunk, undefined>,
    ReadyChunks<ChatCompletionChunk>,
    StreamEnd
{
  readonly #provider: string;
  readonly #open: (end: StreamEnd) => AnthropicUpstream;
  #upstream: AnthropicUpstream | undefined;
  /** The chunks of the event last translated that are not handed out yet: `#chunks[#taken..]`. */
  #chunks: ChatCompletionChunk[] = [];
  #taken = 0;
  #done = false;

  /** `open` builds the request and its translator and sends it (called on the first read). */
  constructor(provider: string, open: (end: StreamEnd) => AnthropicUpstream) {
    this.#provider = provider;
    this.#open = open;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  isEnd(event: SseEvent): boolean {
    return event.event === "message_stop";
  }

  completeWithoutEnd(): boolean {
    return this.#upstream?.translator.done === true;
  }

  takeReady(): ChatCompletionChunk | undefined {
    if (this.#done) return undefined;
    if (this.#taken < this.#chunks.length) return this.#chunks[this.#taken++];
    const upstream = this.#upstream;
    if (upstream === undefined) return undefined;
    // Events that make no chunk (ping, content_block_stop) are passed over, not handed out.
    for (;;) {
      const event = upstream.events.take();
      if (event === undefined) return undefined;
      let chunks: ChatCompletionChunk[];
      try {
        chunks = this.#translate(upstream.translator, event);
      } catch (err) {
        this.#done = true;
        void upstream.events.return();
        throw err;
      }
      if (chunks.length > 0) {
        this.#chunks = chunks;
        this.#taken = 1;
        return chunks[0];
      }
    }
  }

  textOf(): undefined {
    return undefined;
  }

  templateOf(): undefined {
    return undefined;
  }

  async next(): Promise<IteratorResult<ChatCompletionChunk, undefined>> {
    try {
      for (;;) {
        const chunk = this.takeReady();
        if (chunk !== undefined) return { done: false, value: chunk };
        if (this.#done) break;
        this.#upstream ??= this.#open(this);
        if (!(await this.#upstream.events.fill())) break;
      }
    } catch (err) {
      this.#done = true;
      throw err;
    }
    this.#done = true;
    return { done: true, value: undefined };
  }

  return(): Promise<IteratorResult<ChatCompletionChunk, undefined>> {
    this.#done = true;
    void this.#upstream?.events.return();
    return Promise.resolve({ done: true, value: undefined });
  }

  #translate(translator: AnthropicStreamTranslator, event: SseEvent): ChatCompletionChunk[] {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw malformedResponse(this.#provider, `${event.event ?? "message"} event`);
    }
    return translator.translate(data);
  }
}
