import {
  alwaysViable,
  charSet,
  containsDigit,
  groupSpans,
  regexSpans,
  type PiiDetector,
} from "./detector.ts";
import type { PiiEntityType, PiiSpan } from "./schema.ts";

/**
 * Email addresses and phone numbers.
 *
 * Phones are recognised by format, not by "enough digits": international numbers start with
 * `+` and a country code (E.164, 8 to 15 digits, separators and a bracketed area code
 * allowed); national numbers must follow the North American `(415) 555-0123` / `415-555-0123`
 * shape (with valid area and exchange codes) or the European trunk-zero shapes (`020 7946
 * 0958`, `01 23 45 67 89`). Two shapes that lists of numbers share count only after a word
 * such as "call", "phone" or "reach": a bare run of 10 or 11 digits, and the space-separated
 * `415 555 0123` (think `256 512 1024`). Dates, times, order numbers and versions have none of
 * these shapes.
 */

const PHONE_WORDS =
  "phone|tel|telephone|mobile|cell|call|fax|sms|text|whatsapp|office|contact|reach|dial";

const EMAIL =
  /(?<![A-Za-z0-9._%+@-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9_@-]|\.[A-Za-z0-9])/g;

const PHONE_INTERNATIONAL =
  /(?<![\w+])\+[1-9]\d{0,14}(?:[ .-]?\(\d{1,4}\)[ .-]?\d{1,8}|[ .-]\d{1,8}){0,7}(?![\w]|[.-]\d)/g;
/** North American `(415) 555-0123` / `415.555.0123`, or trunk-zero `020 7946 0958` / `01 23 45 67 89`. */
const PHONE_NATIONAL =
  /(?<![\w+).-])(?:(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}|0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}|0[1-9](?:[ .]\d{2}){4})(?![\w]|[.-]\d)/g;
const PHONE_AFTER_WORD = new RegExp(
  `\\b(?:${PHONE_WORDS})\\b[^\\w\\n]{0,3}(?:(?:me|us|at|on|no|number|is)\\b[^\\w\\n]{0,3}){0,3}(?<value>\\d{10,11})(?!\\d)`,
  "dgi",
);
/** A phone word, then a few characters without digits, up to the number. */
const PHONE_WORD_BEFORE = new RegExp(`\\b(?:${PHONE_WORDS})\\b[^\\d\\n]{0,12}$`, "i");
const SPACED_NANP = /^[2-9]\d{2} [2-9]\d{2} \d{4}$/;

const digitCount = (text: string): number => text.replace(/\D/g, "").length;

function emailConfidence(value: string): number | undefined {
  const local = value.slice(0, value.indexOf("@"));
  if (local.endsWith(".") || local.includes("..")) return undefined;
  return 0.95;
}

function internationalConfidence(value: string): number | undefined {
  const digits = digitCount(value) - (value.includes("(0)") ? 1 : 0);
  return digits >= 8 && digits <= 15 ? 0.9 : undefined;
}

function bareConfidence(value: string): number | undefined {
  if (value.length === 10) return /^[2-9]\d{2}[2-9]/.test(value) ? 0.7 : undefined;
  return /^1[2-9]\d{2}[2-9]|^0[1-9]/.test(value) ? 0.7 : undefined;
}

function nationalConfidence(value: string): number | undefined {
  if (!value.startsWith("0")) return 0.85;
  const digits = digitCount(value);
  return digits >= 10 && digits <= 11 ? 0.8 : undefined;
}

function detectPhones(text: string): PiiSpan[] {
  const type: PiiEntityType = "phone";
  const spans: PiiSpan[] = [];
  if (!/\d[ .)-]{0,2}\d/.test(text)) return spans;
  if (text.includes("+")) {
    spans.push(...regexSpans(text, PHONE_INTERNATIONAL, type, internationalConfidence));
  }
  for (const span of regexSpans(text, PHONE_NATIONAL, type, nationalConfidence)) {
    const before = text.slice(Math.max(0, span.start - 30), span.start);
    if (!SPACED_NANP.test(span.text) || PHONE_WORD_BEFORE.test(before)) spans.push(span);
  }
  if (/\d{10}/.test(text)) spans.push(...groupSpans(text, PHONE_AFTER_WORD, type, bareConfidence));
  return spans;
}

const phoneChars = charSet("0-9+(). -");

export const contactDetectors = {
  email: {
    specificity: 60,
    cue: (text) => text.includes("@"),
    detect: (text) => regexSpans(text, EMAIL, "email", emailConfidence),
    partial: { chars: charSet("A-Za-z0-9._%+@-"), maxLength: 254, viable: alwaysViable },
  },
  phone: {
    specificity: 30,
    cue: containsDigit,
    detect: detectPhones,
    partial: {
      chars: phoneChars,
      maxLength: 32,
      viable: (text, start) => /[0-9+(]/.test(text.slice(start)),
    },
  },
} satisfies Partial<Record<PiiEntityType, PiiDetector>>;
