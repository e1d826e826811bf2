import { REDACTED, Secret } from "../core/secret.ts";

/**
 * Audit details are kept forever and exported, so they never hold a credential. Before an
 * entry is stored its details are turned into plain JSON with:
 * - the value of any field named like a credential (api_key, authorization, password, token,
 *   secret, cookie…) and any `Secret` replaced by `[redacted]`, as is a string that carries a
 *   bearer or basic credential;
 * - no floats (a non-integer number is kept as its decimal string), dates as epoch ms;
 * - bounded size: strings, arrays, objects and depth are capped.
 */

const MAX_STRING = 2_048;
const MAX_ITEMS = 100;
const MAX_DEPTH = 8;

/** Field names (lower-cased, without `_` and `-`) whose values are credentials. */
const CREDENTIAL_NAMES = new Set([
  "token",
  "bearer",
  "auth",
  "passwd",
  "pwd",
  "credentials",
  "credential",
  "cookie",
  "setcookie",
  "signature",
]);
const CREDENTIAL_SUFFIXES = [
  "apikey",
  "authorization",
  "password",
  "secret",
  "accesstoken",
  "refreshtoken",
  "idtoken",
  "sessiontoken",
  "authtoken",
  "privatekey",
  "masterkey",
  "secretkey",
  "signingkey",
];
const CREDENTIAL_VALUE = /^\s*(bearer|basic)\s+\S/i;

/**
 * Every key of every entry's details is checked, and producers use a handful of field names,
 * so answers are remembered per name. The bound only stops a stream of distinct names (keys
 * of user-supplied data) from growing it without limit.
 */
const MAX_KNOWN_NAMES = 1_000;
const knownNames = new Map<string, boolean>();

export function isCredentialName(name: string): boolean {
  let credential = knownNames.get(name);
  if (credential === undefined) {
    const key = name.toLowerCase().replace(/[_-]/g, "");
    credential =
      CREDENTIAL_NAMES.has(key) || CREDENTIAL_SUFFIXES.some((suffix) => key.endsWith(suffix));
    if (knownNames.size >= MAX_KNOWN_NAMES) knownNames.clear();
    knownNames.set(name, credential);
  }
  return credential;
}

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The details of an entry as they will be stored: plain, redacted, bounded JSON. */
export function sanitizeDetails(details: Readonly<Record<string, unknown>>): {
  [key: string]: JsonValue;
} {
  const value = sanitize(details, 0);
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
}

function sanitize(value: unknown, depth: number): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Secret) return REDACTED;
  switch (typeof value) {
    case "string":
      return CREDENTIAL_VALUE.test(value) ? REDACTED : cleanString(value, MAX_STRING);
    case "boolean":
      return value;
    case "number":
      if (Number.isSafeInteger(value)) return value;
      return Number.isFinite(value) ? String(value) : null;
    case "bigint":
      return value.toString();
    case "function":
    case "symbol":
      return null;
  }
  if (depth >= MAX_DEPTH) return "[truncated]";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => sanitize(item, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`[${value.length - MAX_ITEMS} more]`);
    return items;
  }
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === "function") {
    return sanitize((withJson.toJSON as () => unknown).call(value), depth + 1);
  }
  const out: { [key: string]: JsonValue } = {};
  const entries = Object.entries(value as Record<string, unknown>);
  const count = Math.min(entries.length, MAX_ITEMS);
  for (let i = 0; i < count; i++) {
    const [key, item] = entries[i]!;
    if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
    const name = cleanString(key, 200);
    out[name] = isCredentialName(name) ? REDACTED : sanitize(item, depth + 1);
  }
  return out;
}

/**
 * A string as stored: well-formed UTF-16 (a lone surrogate would be stored differently by
 * different drivers and break the hash), no NUL (PostgreSQL text refuses it), at most `max`
 * characters.
 */
export function cleanString(value: string, max: number): string {
  let text = value.toWellFormed();
  // Checking first is several times cheaper than replaceAll on a string without NUL (nearly all).
  if (text.includes("\u0000")) text = text.replaceAll("\u0000", "");
  if (text.length > max) text = `${text.slice(0, max - 1).toWellFormed()}…`;
  return text;
}
