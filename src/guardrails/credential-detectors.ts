import { hasRun } from "./char-runs.ts";
import { shannonEntropy } from "./checksums.ts";
import { charSet, groupSpans, nonSpaceChars, regexSpans, type PiiDetector } from "./detector.ts";
import type { PiiEntityType, PiiSpan } from "./schema.ts";

/**
 * Credentials: JSON Web Tokens, API keys with a vendor's known prefix, and other secrets.
 *
 * A JWT is three base64url segments whose first decodes to a JSON header with an `alg`.
 * An API key is one of the vendor formats below (OpenAI, Anthropic, Keel, AWS, GitHub, Slack,
 * GitLab, Google, Stripe, Hugging Face, npm); free-form bodies must look random. A secret is
 * a long high-entropy token (Shannon entropy ≥ 3 bits/char, mixed character classes) right
 * after a word such as key, secret, token or password, or after a password word any
 * non-space value of 8+ characters mixing three character classes.
 */

const JWT =
  /(?<![\w.-])eyJ[A-Za-z0-9_-]{8,2048}\.[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{0,2048}(?![\w-]|\.[\w-])/g;

/** The start of a JWT: `eyJ`, then at most three segments so far. */
const JWT_PREFIX = /^(?:e|ey|eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2})$/;

const API_KEY = new RegExp(
  "(?<![A-Za-z0-9_.-])(?:" +
    [
      "sk-(?:proj|svcacct|admin|keel|ant-(?:api|admin)\\d{2})-[A-Za-z0-9_-]{16,200}",
      "sk-[A-Za-z0-9]{32,200}",
      "(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
      "gh[pousr]_[A-Za-z0-9]{36,251}",
      "github_pat_[A-Za-z0-9_]{22,251}",
      "xox[abposr]-[A-Za-z0-9-]{10,250}",
      "glpat-[A-Za-z0-9_-]{20,64}",
      "AIza[A-Za-z0-9_-]{35}",
      "(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}",
      "hf_[A-Za-z]{30,40}",
      "npm_[A-Za-z0-9]{36}",
    ].join("|") +
    ")(?![A-Za-z0-9_-]|\\.[A-Za-z0-9_-])",
  "g",
);

const API_KEY_HINT = /sk-|[sr]k_|A[KSBC][IC]A|gh[pousr]_|github_pat_|xox|glpat-|AIza|hf_|npm_/;
/** Every format in API_KEY holds a `-` or a `_` or starts `AK`, `AS`, `AB`, `AC` or `AI`. */
const API_KEY_CUE = /[-_]|A[KSBCI]/;

/** Prefixes an API key can start with: a word that is (or begins) one may still become one. */
const apiKeyPrefixes = [
  "sk-", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "AKIA", "ASIA", "ABIA", "ACCA",
  "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xoxa-", "xoxb-", "xoxp-", "xoxo-",
  "xoxs-", "xoxr-", "glpat-", "AIza", "hf_", "npm_",
]; // prettier-ignore

/** Between a credential word and its value: `=`, `: "`, ` is `, ` is: `, `=> '`… */
const SEPARATOR = String.raw`["'\x60]?\s{0,3}(?:(?<=\s)(?:is|was)\b\s{0,3})?(?:[:=]|=>|:=)?\s{0,3}["'\x60]?`;

/** A long token right after a credential word and its separator (`API_KEY=…`, `token is …`). */
const SECRET_AFTER_WORD = new RegExp(
  `(?:key|secret|token|password|passwd|pwd|passphrase|credentials?|bearer|authorization)s?${SEPARATOR}` +
    String.raw`(?<![A-Za-z0-9+/_.~-])(?<value>[A-Za-z0-9+/_.~-]{16,256}={0,2})(?![A-Za-z0-9+/=_.~-])`,
  "dgi",
);
const PASSWORD_VALUE = new RegExp(
  String.raw`(?<![A-Za-z0-9])(?:password|passwd|pwd|passphrase)${SEPARATOR}(?<=[\s:="'\x60>])(?<value>[^\s"'\x60]{8,128})`,
  "dgi",
);
const PASSWORD_WORD = /passw|pwd|passphrase/i;
const SECRET_WORD = /key|secret|token|passw|pwd|passphrase|credential|bearer|authorization/i;
const secretValueChars = charSet("A-Za-z0-9+/_.~-");

/**
 * A password needs its word; any other secret needs a credential word and a value of 16 or
 * more `secretValueChars` in a row (most text has no such run, and that is found out faster
 * than whether it holds one of the words).
 */
function mayHoldSecret(text: string): boolean {
  return PASSWORD_WORD.test(text) || (hasRun(text, 16, secretValueChars) && SECRET_WORD.test(text));
}

function characterClasses(value: string): number {
  return (
    Number(/[a-z]/.test(value)) +
    Number(/[A-Z]/.test(value)) +
    Number(/\d/.test(value)) +
    Number(/[^A-Za-z0-9]/.test(value))
  );
}

/** Made of words and small numbers: `db-credentials-prod-2`, `getUserAccessToken`. */
function wordLike(value: string): boolean {
  return value
    .split(/[-_./+~=]+|(?<=[a-z])(?=[A-Z])/)
    .every((part) => /^(?:[a-z]*|[A-Z]+|[A-Z][a-z]+|\d{1,4})$/.test(part));
}

function looksRandom(value: string): boolean {
  return (
    shannonEntropy(value) >= 3 &&
    characterClasses(value.replace(/[^A-Za-z0-9]/g, "")) >= 2 &&
    !wordLike(value)
  );
}

function jwtConfidence(value: string): number | undefined {
  const [header = "", payload = ""] = value.split(".");
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || !("alg" in parsed)) return undefined;
    if (typeof parsed.alg !== "string") return undefined;
  } catch {
    return undefined;
  }
  return payload.startsWith("eyJ") ? 0.99 : 0.9;
}

const KEY_PREFIX =
  /^(?:sk-(?:(?:proj|svcacct|admin|keel|ant-(?:api|admin)\d{2})-)?|(?:sk|rk)_(?:live|test)_|gh[pousr]_|github_pat_|xox[a-z]-|glpat-|hf_|npm_)/;

/** The body after the vendor prefix must look random: placeholders (`sk-xxxx…`) do not. */
function apiKeyConfidence(value: string): number | undefined {
  const body = value.replace(KEY_PREFIX, "");
  if (shannonEntropy(body) < 3 || (value.startsWith("sk-") && !looksRandom(body))) {
    return undefined;
  }
  return 0.95;
}

/** Spans of `pattern`'s value group, trailing punctuation dropped, that pass `accept`. */
function trimmedSpans(
  text: string,
  pattern: RegExp,
  trailing: RegExp,
  accept: (value: string) => boolean,
  confidence: number,
): PiiSpan[] {
  const spans: PiiSpan[] = [];
  for (const span of groupSpans(text, pattern, "secret", () => confidence)) {
    const value = span.text.replace(trailing, "");
    if (accept(value)) spans.push({ ...span, end: span.start + value.length, text: value });
  }
  return spans;
}

function detectSecrets(text: string): PiiSpan[] {
  const tokens = (v: string) => v.length >= 16 && looksRandom(v);
  const spans = trimmedSpans(text, SECRET_AFTER_WORD, /\.+$/, tokens, 0.8);
  if (PASSWORD_WORD.test(text)) {
    const passwords = (v: string) => v.length >= 8 && characterClasses(v) >= 3;
    spans.push(...trimmedSpans(text, PASSWORD_VALUE, /[.,;:)\]]+$/, passwords, 0.7));
  }
  return spans;
}

export const credentialDetectors = {
  jwt: {
    specificity: 100,
    // A single letter is found faster than three; most text has no `J` at all.
    cue: (text) => text.includes("J"),
    detect: (text) => (text.includes("eyJ") ? regexSpans(text, JWT, "jwt", jwtConfidence) : []),
    partial: {
      chars: charSet("A-Za-z0-9_.-"),
      maxLength: 8200,
      viable: (text, start) => JWT_PREFIX.test(text.slice(start)),
    },
  },
  api_key: {
    specificity: 90,
    cue: (text) => API_KEY_CUE.test(text),
    detect: (text) =>
      API_KEY_HINT.test(text) ? regexSpans(text, API_KEY, "api_key", apiKeyConfidence) : [],
    partial: {
      chars: charSet("A-Za-z0-9_.-"),
      maxLength: 260,
      viable: (text, start) => {
        const run = text.slice(start, start + 11);
        return apiKeyPrefixes.some((p) => run.startsWith(p) || p.startsWith(run));
      },
    },
  },
  secret: {
    specificity: 20,
    cue: mayHoldSecret,
    detect: detectSecrets,
    partial: {
      chars: nonSpaceChars,
      maxLength: 260,
      viable: (text, start) => SECRET_WORD.test(text.slice(Math.max(0, start - 48))),
    },
  },
} satisfies Partial<Record<PiiEntityType, PiiDetector>>;
