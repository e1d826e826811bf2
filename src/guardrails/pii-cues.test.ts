import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ALNUM,
  apiKey,
  card,
  createRng,
  DOMAINS,
  FIRST,
  iban,
  ipv6,
  jwt,
  LAST,
  makeTools,
  nanp,
  ssn,
  type Tools,
} from "../../test/fixtures/pii-values.ts";
import { detectCandidates, detectPii, piiDetectors, resolveOverlaps } from "./pii-detectors.ts";
import { piiEntityTypes, type PiiEntityType, type PiiSpan } from "./schema.ts";

/**
 * The cues are a fast path: a detector whose cue fails on a text is not run on it. These
 * tests feed generated texts (prose, every kind of value, near misses and character soup)
 * through the cued scan and through every detector run unconditionally, and require the
 * same spans.
 */

const WORDS = [
  "hello", "the", "answer", "is", "call", "me", "phone", "ssn", "card", "key", "token",
  "password", "Secret", "bearer", "api_key", "Jane", "JSON", "AKIA", "AIza", "sk", "xox",
  "well-known", "snake_case", "at", "on", "IP", "v1.2.3", "10:30", "2024-05-01",
]; // prettier-ignore

const SOUP = "aeyJzAKISBC0123456789@:.-_+()/#=\"'` \n\t";

function piece(t: Tools): string {
  const kind = t.int(0, 15);
  switch (kind) {
    case 0:
      return card(t);
    case 1:
      return iban(t, t.int(0, 1) === 0);
    case 2:
      return ssn(t, t.pick(["-", " ", ""]));
    case 3:
      return t.pick(["", "+1 ", "(", "0"]) + nanp(t, t.pick([" ", "-", "."]));
    case 4:
      return `+${t.int(1, 99)} ${t.num(t.int(2, 4))} ${t.num(t.int(3, 8))}`;
    case 5:
      return `${t.pick(FIRST)}.${t.pick(LAST)}@${t.pick(DOMAINS)}`;
    case 6:
      return Array.from({ length: 4 }, () => t.int(0, 300)).join(".");
    case 7:
      return ipv6(t);
    case 8:
      return jwt(t);
    case 9:
      return apiKey(t);
    case 10: {
      const word = t.pick(["api_key", "token", "password", "pwd", "Secret", "bearer", "key"]);
      const value = t.chars(ALNUM + "+/_.~-!#", t.int(6, 40));
      return word + t.pick(["=", ": ", " is ", "='", ':"', " "]) + value;
    }
    case 11:
      return t.chars(SOUP, t.int(1, 12));
    case 12:
      return t.num(t.int(1, 20));
    default:
      return t.pick(WORDS);
  }
}

function generatedTexts(count: number): string[] {
  const t = makeTools(createRng(2024));
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const proseOnly = t.int(0, 3) === 0;
    const parts: string[] = [];
    for (let n = t.int(1, 10); n > 0; n--) {
      parts.push(proseOnly ? t.pick(WORDS.slice(0, 3)) : piece(t));
      parts.push(t.pick([" ", " ", ", ", "\n", "", ":", "-", ". "]));
    }
    texts.push(parts.join(""));
  }
  return texts;
}

const byPosition = (a: PiiSpan, b: PiiSpan) => a.start - b.start || b.end - a.end;

/** Every detector run on the text whatever its cue says: the path without the shortcut. */
function everyDetector(text: string, types: readonly PiiEntityType[]): PiiSpan[] {
  return types.flatMap((type) => piiDetectors[type].detect(text)).sort(byPosition);
}

const texts = generatedTexts(3_000);

describe("detector cues", () => {
  test("a detector finds nothing in any text its cue turns away", () => {
    let turnedAway = 0;
    for (const text of texts) {
      for (const type of piiEntityTypes) {
        const detector = piiDetectors[type];
        if (detector.cue(text)) continue;
        turnedAway++;
        assert.deepEqual(detector.detect(text), [], `${type} in ${JSON.stringify(text)}`);
      }
    }
    assert.ok(turnedAway > texts.length, `only ${turnedAway} detector runs were skipped`);
  });

  test("detectPii and detectCandidates find what running every detector finds", () => {
    const found = new Map<PiiEntityType, number>();
    for (const text of texts) {
      const all = everyDetector(text, piiEntityTypes);
      assert.deepEqual(detectCandidates(text), all, JSON.stringify(text));
      const resolved = resolveOverlaps(all);
      assert.deepEqual(detectPii(text), resolved, JSON.stringify(text));
      for (const span of resolved) found.set(span.type, (found.get(span.type) ?? 0) + 1);
    }
    for (const type of piiEntityTypes) {
      assert.ok((found.get(type) ?? 0) >= 20, `${type} found ${found.get(type) ?? 0} times`);
    }
  });

  test("a scan for some types finds what those detectors find", () => {
    const subsets: PiiEntityType[][] = [
      ["ipv4"],
      ["secret", "email"],
      ["us_ssn", "phone", "jwt"],
      ["api_key", "credit_card", "ipv6", "iban"],
    ];
    for (const text of texts.slice(0, 1_000)) {
      for (const types of subsets) {
        const expected = resolveOverlaps(everyDetector(text, types));
        assert.deepEqual(detectPii(text, types), expected, `${types.join()} in ${text}`);
      }
    }
  });
});
