import type { AnthropicStreamTranslator } from "./anthropic-stream.ts";
import { malformedResponse } from "./http-errors.ts";
import { EventChunkStream } from "./event-chunk-stream.ts";
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
 * The OpenAI chunks of an Anthropic Messages event stream, up to `message_stop`. The chunks are
 * Keel's own translation, never the upstream's text, so `textOf()` and `templateOf()` have none
 * to offer.
 */
export class AnthropicChunkStream extends EventChunkStream<ChatCompletionChunk> {
  readonly #provider: string;
  readonly #open: (end: StreamEnd) => AnthropicUpstream;
  #translator: AnthropicStreamTranslator | undefined;
  /** The chunks of the event last translated that are not handed out yet: `#chunks[#taken..]`. */
  #chunks: ChatCompletionChunk[] = [];
  #taken = 0;

  /** `open` builds the request and its translator and sends it (called on the first read). */
  constructor(provider: string, open: (end: StreamEnd) => AnthropicUpstream) {
    super();
    this.#provider = provider;
    this.#open = open;
  }

  isEnd(event: SseEvent): boolean {
    return event.event === "message_stop";
  }

  completeWithoutEnd(): boolean {
    return this.#translator?.done === true;
  }

  textOf(): undefined {
    return undefined;
  }

  templateOf(): undefined {
    return undefined;
  }

  protected open(end: StreamEnd): UpstreamEvents {
    const { events, translator } = this.#open(end);
    this.#translator = translator;
    return events;
  }

  /** Events that make no chunk (ping, content_block_stop) are passed over, not handed out. */
  protected readyChunk(events: UpstreamEvents): ChatCompletionChunk | undefined {
    if (this.#taken < this.#chunks.length) return this.#chunks[this.#taken++];
    for (;;) {
      const event = events.take();
      if (event === undefined) return undefined;
      const chunks = this.#translate(this.#translator!, event);
      if (chunks.length > 0) {
        this.#chunks = chunks;
        this.#taken = 1;
        return chunks[0];
      }
    }
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
