/**
 * A server-sent events parser (the WHATWG `text/event-stream` format): bytes in, events out.
 * Incremental, so a stream is parsed as it arrives, pulled one upstream chunk at a time;
 * UTF-8 sequences and line endings split across chunks are handled.
 */

export interface SseEvent {
  /** The `event:` field, when the upstream named the event. */
  event: string | undefined;
  /** The `data:` lines of the event, joined with "\n". */
  data: string;
}

export class SseParser {
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #event: string | undefined = undefined;
  #data: string[] = [];

  /** Feeds a chunk; returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.#buffer +=
      typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    return this.#drain(false);
  }

  /** Ends the input; an event without its closing blank line is dropped, as the format says. */
  end(): SseEvent[] {
    this.#buffer += this.#decoder.decode();
    const events = this.#drain(true);
    this.#buffer = "";
    this.#event = undefined;
    this.#data = [];
    return events;
  }

  #drain(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.#buffer;
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf("\n", start);
      const cr = buffer.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF split across chunks.
        if (cr === buffer.length - 1 && !final) break;
        end = cr;
        next = buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.#line(buffer.slice(start, end), events);
      start = next;
    }
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.#data.length > 0) {
        events.push({ event: this.#event, data: this.#data.join("\n") });
      }
      this.#event = undefined;
      this.#data = [];
      return;
    }
    if (line.startsWith(":")) return; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
  }
}

/** The events of an SSE body, pulled from `source` one chunk at a time. */
export async function* readSse(
  source: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<SseEvent, void, undefined> {
  const parser = new SseParser();
  for await (const chunk of source) {
    for (const event of parser.push(chunk)) yield event;
  }
  for (const event of parser.end()) yield event;
}
