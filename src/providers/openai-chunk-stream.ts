import { ChunkTemplate } from "./chunk-template.ts";
import type { ReadyChunks } from "./ready-chunks.ts";
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
 * [DONE]; a clean end after a finish_reason is still whole. Each event is parsed as it is
 * taken, not when its read arrives, so that the chunks before a malformed one still reach the
 * client, as they would one `next()` at a time. The request goes out on the first `next()`.
 *
 * A plain class rather than an async generator: the gateway takes the chunks one upstream read
 * carried in one synchronous pass (`takeReady()`), and `next()` costs one promise, not a hop
 * through a generator per layer. A chunk whose text fits the last template learnt (see
 * `chunk-template.ts`) is built from it rather than parsed.
 */
export class OpenAIChunkStream<C extends Finishing>
  implements AsyncIterableIterator<C, undefined>, ReadyChunks<C>, StreamEnd
{
  readonly #open: (end: StreamEnd) => UpstreamEvents;
  readonly #parser: ChunkParser<C>;
  #events: UpstreamEvents | undefined;
  /** A chunk carried a finish_reason. */
  #finished = false;
  #done = false;
  #template: ChunkTemplate | undefined;
  #credit = LEARNING_CREDIT;
  /** The chunk last handed out; its text when it is that text parsed as is; its template. */
  #last: C | undefined;
  #lastText: string | undefined;
  #lastTemplate: ChunkTemplate | undefined;

  /** `open` sends the request (called on the first read); `parser` makes each event a chunk. */
  constructor(open: (end: StreamEnd) => UpstreamEvents, parser: ChunkParser<C>) {
    this.#open = open;
    this.#parser = parser;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  isEnd(event: { data: string }): boolean {
    return event.data === "[DONE]";
  }

  completeWithoutEnd(): boolean {
    return this.#finished;
  }

  takeReady(): C | undefined {
    const events = this.#events;
    if (this.#done || events === undefined) return undefined;
    const event = events.take();
    if (event === undefined) return undefined;
    if (event.data === "[DONE]") {
      this.#done = true;
      return undefined;
    }
    let chunk: C;
    try {
      chunk = this.#chunk(event.data);
    } catch (err) {
      this.#done = true;
      void events.return();
      throw err;
    }
    if (!this.#finished && finishes(chunk)) this.#finished = true;
    return chunk;
  }

  textOf(chunk: C): string | undefined {
    return chunk === this.#last ? this.#lastText : undefined;
  }

  templateOf(chunk: C): ChunkTemplate | undefined {
    return chunk === this.#last ? this.#lastTemplate : undefined;
  }

  async next(): Promise<IteratorResult<C, undefined>> {
    try {
      for (;;) {
        const chunk = this.takeReady();
        if (chunk !== undefined) return { done: false, value: chunk };
        if (this.#done) break;
        this.#events ??= this.#open(this);
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
