import { ibanValid, luhnValid } from "./checksums.ts";
import {
  charSet,
  containsDigit,
  eachMatch,
  groupSpans,
  regexSpans,
  type PiiDetector,
} from "./detector.ts";
import type { PiiEntityType, PiiSpan } from "./schema.ts";

/**
 * Payment card numbers, IBANs and US social security numbers: shapes backed by checks.
 * A card must pass Luhn and belong to a known network's number range with one of that
 * network's lengths, written plain or in the usual groups; an IBAN must have its country's
 * length and pass mod-97; an SSN must have a valid area (not 000, 666 or 9xx), group and
 * serial. A candidate that fails is not reported.
 */

const CARD = /(?<![\w.,+-])\d(?:[ -]?\d){12,18}(?![\w]|[.,-]\d)/g;
const IBAN =
  /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])/g;
const SSN = /(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w]|-\d)/g;
const SSN_AFTER_WORD =
  /\b(?:ssn|social security(?: number| no\.?)?|ss#)[^\w\n]{0,4}(?:(?:is|no|number)\b[^\w\n]{0,3}){0,2}(?<value>\d{3} ?\d{2} ?\d{4})(?![\w]|[ -]\d)/dgi;

interface CardNetwork {
  lengths: readonly number[];
  matches(digits: string): boolean;
}

const prefixBetween = (digits: string, size: number, low: number, high: number): boolean => {
  const prefix = Number(digits.slice(0, size));
  return prefix >= low && prefix <= high;
};

/** Issuer identification ranges and lengths of the card networks. */
const cardNetworks: Readonly<Record<string, CardNetwork>> = {
  visa: { lengths: [13, 16, 19], matches: (d) => d.startsWith("4") },
  mastercard: {
    lengths: [16],
    matches: (d) => prefixBetween(d, 2, 51, 55) || prefixBetween(d, 4, 2221, 2720),
  },
  amex: { lengths: [15], matches: (d) => d.startsWith("34") || d.startsWith("37") },
  discover: {
    lengths: [16, 19],
    matches: (d) =>
      d.startsWith("6011") ||
      d.startsWith("65") ||
      prefixBetween(d, 3, 644, 649) ||
      prefixBetween(d, 6, 622126, 622925),
  },
  diners: {
    lengths: [14, 16, 19],
    matches: (d) => prefixBetween(d, 3, 300, 305) || /^3[689]/.test(d),
  },
  jcb: { lengths: [16, 17, 18, 19], matches: (d) => prefixBetween(d, 4, 3528, 3589) },
  unionpay: { lengths: [16, 17, 18, 19], matches: (d) => d.startsWith("62") },
  maestro: {
    lengths: [13, 14, 15, 16, 17, 18, 19],
    matches: (d) => /^(?:5018|5020|5038|5893|6304|6759|676[1-3])/.test(d),
  },
};

/** Plain digits, or groups of four (the last shorter), or the 4-6-5 / 4-6-4 layouts. */
function cardGroupingValid(value: string): boolean {
  const separators = value.match(/[ -]/g);
  if (separators === null) return true;
  if (new Set(separators).size !== 1) return false;
  const groups = value.split(/[ -]/).map((g) => g.length);
  const layout = groups.join("-");
  if (layout === "4-6-5" || layout === "4-6-4") return true;
  const last = groups[groups.length - 1] ?? 0;
  return groups.slice(0, -1).every((g) => g === 4) && last >= 1 && last <= 4;
}

/** A group of 2-4 letters and digits with a digit, or the head of a grouped IBAN, then `sep`. */
const GROUP_BEFORE =
  /(?:^|[^A-Za-z0-9])(?:(?=[A-Za-z]{0,3}\d)[A-Za-z0-9]{2,4}|[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){0,7})$/;

/**
 * Whether a grouped candidate is the tail of a longer grouped code: `DE76 4945 5994 0535 2411
 * 57` (an IBAN) holds a Luhn-valid 16 digits after its first group.
 */
function continuesBackward(text: string, start: number, value: string): boolean {
  const separator = value.match(/[ -]/)?.[0];
  if (separator === undefined || text[start - 1] !== separator) return false;
  return GROUP_BEFORE.test(text.slice(Math.max(0, start - 41), start - 1));
}

function cardConfidence(value: string, text: string, start: number): number | undefined {
  const digits = value.replace(/\D/g, "");
  if (!cardGroupingValid(value) || !luhnValid(digits)) return undefined;
  if (continuesBackward(text, start, value)) return undefined;
  for (const network of Object.values(cardNetworks)) {
    if (network.lengths.includes(digits.length) && network.matches(digits)) return 0.99;
  }
  return undefined;
}

/** A candidate, or the same candidate without its last group (a number glued to the next). */
function withoutLastGroup(value: string): string | undefined {
  const cut = Math.max(value.lastIndexOf(" "), value.lastIndexOf("-"));
  return cut > 0 ? value.slice(0, cut) : undefined;
}

function detectChecked(
  text: string,
  pattern: RegExp,
  type: PiiEntityType,
  check: (value: string, text: string, start: number) => number | undefined,
): PiiSpan[] {
  const spans: PiiSpan[] = [];
  eachMatch(pattern, text, (match) => {
    const start = match.index;
    let value: string | undefined = match[0];
    let confidence = check(value, text, start);
    if (confidence === undefined) {
      value = withoutLastGroup(value);
      confidence = value === undefined ? undefined : check(value, text, start);
    }
    if (value !== undefined && confidence !== undefined) {
      spans.push({ type, start, end: start + value.length, text: value, confidence });
    }
  });
  return spans;
}

function ibanConfidence(value: string): number | undefined {
  return ibanValid(value.replaceAll(" ", "")) ? 0.99 : undefined;
}

function ssnConfidence(value: string): number | undefined {
  const digits = value.replace(/\D/g, "");
  const area = digits.slice(0, 3);
  if (area === "000" || area === "666" || area.startsWith("9")) return undefined;
  if (digits.slice(3, 5) === "00" || digits.slice(5) === "0000") return undefined;
  if (digits === "078051120" || digits === "219099999") return undefined; // published samples
  return 0.9;
}

const digitsAndSeparators = charSet("0-9 -");
const hasDigit = (text: string, start: number): boolean => /\d/.test(text.slice(start));

export const financialDetectors = {
  credit_card: {
    specificity: 80,
    cue: containsDigit,
    detect: (text) => detectChecked(text, CARD, "credit_card", cardConfidence),
    partial: { chars: digitsAndSeparators, maxLength: 24, viable: hasDigit },
  },
  iban: {
    specificity: 80,
    cue: containsDigit,
    detect: (text) => detectChecked(text, IBAN, "iban", ibanConfidence),
    partial: {
      chars: charSet("A-Z0-9 "),
      maxLength: 44,
      viable: (text, start) => /[A-Z]/.test(text.slice(start)),
    },
  },
  us_ssn: {
    specificity: 70,
    cue: containsDigit,
    detect: (text) => [
      ...regexSpans(text, SSN, "us_ssn", ssnConfidence),
      ...groupSpans(text, SSN_AFTER_WORD, "us_ssn", ssnConfidence),
    ],
    partial: { chars: digitsAndSeparators, maxLength: 12, viable: hasDigit },
  },
} satisfies Partial<Record<PiiEntityType, PiiDetector>>;
