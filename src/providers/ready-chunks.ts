import type { ChunkTemplate } from "./chunk-template.ts";

/**
 * An optional fast lane on a provider's stream. The Provider contract makes a stream an async
 * iterable of chunks, one `await next()` each; but one upstream read usually carries several
 * events, and the gateway relays every chunk of every stream. A stream whose iterator also
 * has these methods lets the gateway relay the chunks one read carried in one synchronous
 * pass, and send a chunk's upstream text rather than serialise it again when that is provably
 * the same bytes.
 */
export interface ReadyChunks<C> {
  /**
   * The next chunk when it is already at hand (parsed from a read that has arrived), without
   * waiting; undefined when there is none, in which case `next()` waits for it or says done.
   * Throws what `next()` would reject with for that chunk.
   */
  takeReady(): C | undefined;
  /**
   * The upstream's JSON text of `chunk`, when it is the chunk last handed out (by `next()` or
   * `takeReady()`) and, as handed out, exactly what `JSON.parse` makes of that text; else
   * undefined.
   */
  textOf(chunk: C): string | undefined;
  /**
   * The template that `textOf(chunk)` fits (its prefix, one string token escaped as
   * `JSON.stringify` escapes, its suffix), when there is one; see `chunk-template.ts`.
   */
  templateOf(chunk: C): ChunkTemplate | undefined;
}

/** The iterator's fast lane, when it has one. */
export function readyChunks<C>(iterator: AsyncIterator<C>): ReadyChunks<C> | undefined {
  const candidate = iterator as AsyncIterator<C> & Partial<ReadyChunks<C>>;
  return typeof candidate.takeReady === "function" &&
    typeof candidate.textOf === "function" &&
    typeof candidate.templateOf === "function"
    ? (candidate as ReadyChunks<C>)
    : undefined;
}
