/**
 * A server-sent events parser (the WHATWG `text/event-stream` format): bytes in, events out.
 * Incremental, so a stream is parsed as it arrives, pulled one upstream chunk at a time;
 * UTF-8 sequences and line endings split across chunks are handled.
 *
 * It is on the hot path of every relayed stream (one call per upstream read, which usually
 * carries several events), so it works on offsets into the decoded text: a `data: ` line is
 * sliced once, straight to its value, and a one-line event (the usual case) is never joined.
 */

export interface SseEvent {
  /** The `event:` field, when the upstream named the event. */
  event: string | undefined;
  /** The `data:` lines of the event, joined with "\n". */
  data: string;
}

const LF = 10;
const COLON = 58;
const SPACE = 32;

export class SseParser {
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #event: string | undefined = undefined;
  /** The event's data lines so far, joined; undefined before its first `data` line. */
  #data: string | undefined = undefined;

  /** Feeds a chunk; returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    const events: SseEvent[] = [];
    this.pushTo(chunk, events);
    return events;
  }

  /** Feeds a chunk and appends the events it completed to `events`. */
  pushTo(chunk: Uint8Array | string, events: SseEvent[]): void {
    const text = typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.#buffer = this.#buffer === "" ? text : this.#buffer + text;
    this.#drain(false, events);
  }

  /** Ends the input; an event without its closing blank line is dropped, as the format says. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    this.endTo(events);
    return events;
  }

  /** Ends the input and appends the events that completed to `events`. */
  endTo(events: SseEvent[]): void {
    this.#buffer += this.#decoder.decode();
    this.#drain(true, events);
    this.#buffer = "";
    this.#event = undefined;
    this.#data = undefined;
  }

  #drain(final: boolean, events: SseEvent[]): void {
    const buffer = this.#buffer;
    const length = buffer.length;
    let start = 0;
    // Most upstreams end lines with LF alone: one search for a CR serves the whole buffer.
    let cr = buffer.indexOf("\r");
    while (start < length) {
      if (cr !== -1 && cr < start) cr = buffer.indexOf("\r", start);
      const lf = buffer.indexOf("\n", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF split across chunks.
        if (cr === length - 1 && !final) break;
        end = cr;
        next = buffer.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      this.#line(buffer, start, end, events);
      start = next;
    }
    this.#buffer = start === 0 ? buffer : start >= length ? "" : buffer.slice(start);
  }

  /** Takes in the line `buffer[start, end)`. */
  #line(buffer: string, start: number, end: number, events: SseEvent[]): void {
    if (start === end) {
      if (this.#data !== undefined) events.push({ event: this.#event, data: this.#data });
      this.#event = undefined;
      this.#data = undefined;
      return;
    }
    const first = buffer.charCodeAt(start);
    if (first === COLON) return; // a comment (keep-alive)
    let colon = buffer.indexOf(":", start);
    if (colon >= end) colon = -1;
    const fieldEnd = colon === -1 ? end : colon;
    let valueStart = colon === -1 ? end : colon + 1;
    if (valueStart < end && buffer.charCodeAt(valueStart) === SPACE) valueStart++;
    if (isField(buffer, start, fieldEnd, "data")) {
      const value = buffer.slice(valueStart, end);
      this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
    } else if (isField(buffer, start, fieldEnd, "event")) {
      this.#event = buffer.slice(valueStart, end);
    }
  }
}

/** Whether `buffer[start, end)` is `name`, without slicing it out. */
function isField(buffer: string, start: number, end: number, name: string): boolean {
  return end - start === name.length && buffer.startsWith(name, start);
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
