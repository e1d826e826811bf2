import type { PiiEntityType, PiiSpan } from "./schema.ts";

/**
 * The shape every PII detector has. A detector is a pure function from text to candidate
 * spans; a value that fails its checksum is simply not returned (a failed check is a result,
 * not an error). Every regex a detector uses is bounded and anchored on boundaries so that a
 * scan stays linear in the text's length, adversarial input included.
 */
export interface PiiDetector {
  /** When candidates of two types overlap, the higher specificity wins (then the longer). */
  specificity: number;
  /**
   * A cheap test that passes for every text in which `detect` can find a value (a character
   * or word every value holds), so that most text skips the detector's regexes; `detect` need
   * not repeat it. Detectors that share a cue share the function and sit next to each other in
   * the table, so one test serves them all.
   */
  cue: (text: string) => boolean;
  detect(text: string): PiiSpan[];
  /**
   * How the stream redactor recognises a value that may still be growing at the end of the
   * text received so far: every character of a value is in `chars`, a value is at most
   * `maxLength` long, and `viable` rules out tails that cannot become one.
   */
  partial: {
    chars: CharSet;
    maxLength: number;
    /** Whether `text.slice(start)` (a run of `chars`) could still grow into a value. */
    viable(text: string, start: number): boolean;
  };
}

export type PiiDetectorTable = Record<PiiEntityType, PiiDetector>;

/** A set of ASCII characters, written like a regex class body without escapes: `A-Za-z0-9._-`. */
export interface CharSet {
  has(code: number): boolean;
}

export function charSet(spec: string): CharSet {
  const table = new Uint8Array(128);
  for (let i = 0; i < spec.length; i++) {
    const from = spec.charCodeAt(i);
    if (spec[i + 1] === "-" && i + 2 < spec.length) {
      const to = spec.charCodeAt(i + 2);
      for (let c = from; c <= to; c++) table[c] = 1;
      i += 2;
    } else {
      table[from] = 1;
    }
  }
  return { has: (code) => code < 128 && table[code] === 1 };
}

/** Every character except whitespace and quotes: for values such as passwords. */
export const nonSpaceChars: CharSet = {
  has: (code) =>
    code > 32 && code !== 34 && code !== 39 && code !== 96 && code !== 160 && code !== 0x3000,
};

export const alwaysViable = (): boolean => true;

const DIGIT = /\d/;

/** The cue of the detectors whose values all hold a digit. */
export const containsDigit = (text: string): boolean => DIGIT.test(text);

/**
 * Calls `visit` for every match of a global regex. Uses `exec` on the shared pattern rather
 * than `matchAll`, which clones the regex on every call (a measurable cost per short text).
 */
export function eachMatch(
  pattern: RegExp,
  text: string,
  visit: (match: RegExpExecArray) => void,
): void {
  pattern.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    if (match[0].length === 0) pattern.lastIndex++;
    visit(match);
  }
}

/** Spans for every match of a global regex whose text passes `accept`. */
export function regexSpans(
  text: string,
  pattern: RegExp,
  type: PiiEntityType,
  accept: (value: string) => number | undefined,
): PiiSpan[] {
  const spans: PiiSpan[] = [];
  eachMatch(pattern, text, (match) => {
    const confidence = accept(match[0]);
    if (confidence !== undefined) {
      const start = match.index;
      spans.push({ type, start, end: start + match[0].length, text: match[0], confidence });
    }
  });
  return spans;
}

/** Spans for the named group `value` of every match of a global regex with the `d` flag. */
export function groupSpans(
  text: string,
  pattern: RegExp,
  type: PiiEntityType,
  accept: (value: string) => number | undefined,
): PiiSpan[] {
  const spans: PiiSpan[] = [];
  eachMatch(pattern, text, (match) => {
    const range = match.indices?.groups?.value;
    const value = match.groups?.value;
    if (range === undefined || value === undefined) return;
    const confidence = accept(value);
    if (confidence !== undefined) {
      spans.push({ type, start: range[0], end: range[1], text: value, confidence });
    }
  });
  return spans;
}
