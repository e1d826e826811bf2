import { ChunkTemplate } from "./chunk-template.ts";
import { EventChunkStream } from "./event-chunk-stream.ts";
import type { UpstreamEvents } from "./upstream-events.ts";
import type { StreamEnd } from "./upstream-http.ts";

/** The part of a chunk the stream looks at: whether a choice finished. */
interface Finishing {
  choices: { finish_reason?: string | null | undefined }[];
}

/** How an event's text becomes a chunk. */
export interface ChunkParser<C> {
  /** `JSON.parse` of the event's text; malformed JSON throws. */
  parse(text: string): unknown;
  /** The checked chunk: `data` itself when it is recognised as it is, else a parsed copy. */
  check(data: unknown): C;
}

/**
 * Learning a template costs about a `JSON.parse` on top of the chunk's own; each chunk it then
 * recognises saves one. Learning stops while it has not paid for itself: an upstream whose text
 * is never `JSON.stringify`'s own, or whose chunks differ beyond their text (a counter, a
 * timestamp, random padding).
 */
const LEARNING_CREDIT = 2;

/**
 * The chunks of an OpenAI-style SSE stream, up to `data: [DONE]`. Some engines end without
 * [DONE]; a clean end after a finish_reason is still whole. A chunk whose text fits the last
 * template learnt (see `chunk-template.ts`) is built from it rather than parsed.
 */
export class OpenAIChunkStream<C extends Finishing> extends EventChunkStream<C> {
  readonly #open: (end: StreamEnd) => UpstreamEvents;
  readonly #parser: ChunkParser<C>;
  /** A chunk carried a finish_reason. */
  #finished = false;
  #template: ChunkTemplate | undefined;
  #credit = LEARNING_CREDIT;
  /** The chunk last handed out; its text when it is that text parsed as is; its template. */
  #last: C | undefined;
  #lastText: string | undefined;
  #lastTemplate: ChunkTemplate | undefined;

  /** `open` sends the request (called on the first read); `parser` makes each event a chunk. */
  constructor(open: (end: StreamEnd) => UpstreamEvents, parser: ChunkParser<C>) {
    super();
    this.#open = open;
    this.#parser = parser;
  }

  isEnd(event: { data: string }): boolean {
    return event.data === "[DONE]";
  }

  completeWithoutEnd(): boolean {
    return this.#finished;
  }

  protected open(end: StreamEnd): UpstreamEvents {
    return this.#open(end);
  }

  /** [DONE] makes no chunk; the events end with it. */
  protected readyChunk(events: UpstreamEvents): C | undefined {
    const event = events.take();
    if (event === undefined || event.data === "[DONE]") return undefined;
    const chunk = this.#chunk(event.data);
    if (!this.#finished && finishes(chunk)) this.#finished = true;
    return chunk;
  }

  textOf(chunk: C): string | undefined {
    return chunk === this.#last ? this.#lastText : undefined;
  }

  templateOf(chunk: C): ChunkTemplate | undefined {
    return chunk === this.#last ? this.#lastTemplate : undefined;
  }

  /** The event's chunk: built from the template when the text fits it, else parsed. */
  #chunk(text: string): C {
    let template = this.#template;
    const built = template?.parse(text);
    const data = built ?? this.#parser.parse(text);
    const chunk = this.#parser.check(data);
    if (chunk !== data) {
      // Recognised only by the full parse, which made a copy: no longer the text's own.
      this.#remember(chunk, undefined, undefined);
      return chunk;
    }
    if (built !== undefined) {
      this.#credit++;
    } else if (this.#credit > 0) {
      this.#credit--;
      template = ChunkTemplate.learn(text, chunk);
      if (template !== undefined) this.#template = template;
    } else {
      template = undefined;
    }
    this.#remember(chunk, text, template);
    return chunk;
  }

  #remember(chunk: C, text: string | undefined, template: ChunkTemplate | undefined): void {
    this.#last = chunk;
    this.#lastText = text;
    this.#lastTemplate = template;
  }
}

function finishes(chunk: Finishing): boolean {
  for (const choice of chunk.choices) {
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) return true;
  }
  return false;
}
