import { Secret } from "../core/secret.ts";

/**
 * Audit details are kept forever and exported, so they never hold a credential. Before an
 * entry is stored its details are turned into plain JSON with:
 * - the value of any field named like a credential (api_key, authorization, password, token,
 *   secret, cookie…) and any `Secret` replaced by `[redacted]`, as is a string that carries a
 *   bearer or basic credential;
 * - no floats (a non-integer number is kept as its decimal string), dates as epoch ms;
 * - bounded size: strings, arrays, objects and depth are capped.
 */

export const REDACTED = "[redacted]";
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

export function isCredentialName(name: string): boolean {
  const key = name.toLowerCase().replace(/[_-]/g, "");
  return CREDENTIAL_NAMES.has(key) || CREDENTIAL_SUFFIXES.some((suffix) => key.endsWith(suffix));
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
  for (const [key, item] of entries.slice(0, MAX_ITEMS)) {
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
  let text = value.toWellFormed().replaceAll("\u0000", "");
  if (text.length > max) text = `${text.slice(0, max - 1).toWellFormed()}…`;
  return text;
}
