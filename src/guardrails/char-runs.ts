import type { CharSet } from "./detector.ts";

/**
 * Whether `text` holds `length` characters of `chars` in a row: what `/[chars]{length}/`
 * tests, for detectors whose values are long runs (base64 blobs, secrets). Any such run covers
 * one of every `length` positions, so only those are read, and the run around a hit measured:
 * in prose, whose words are far shorter than `length`, that reads a small share of the text,
 * where the regex tries every position (about 10 ns a character).
 */
export function hasRun(text: string, length: number, chars: CharSet): boolean {
  if (length < 1) return true;
  for (let i = length - 1; i < text.length; i += length) {
    if (!chars.has(text.charCodeAt(i))) continue;
    let start = i;
    while (start > 0 && chars.has(text.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end - start < length && end < text.length && chars.has(text.charCodeAt(end))) end++;
    if (end - start >= length) return true;
  }
  return false;
}
