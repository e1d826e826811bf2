import { REDACTED } from "./secret.ts";

/**
 * Credentials taken out of a log line's fields before it is written: the second line of
 * defence (the first is that secrets are `Secret` objects, which render as `[redacted]`).
 *
 * Covered: an `authorization`, `x-api-key` or `api-key` header under `headers` or
 * `req.headers`, and an `api_key` / `apiKey` field of any object at the top level of the line
 * (`{provider: {api_key: …}}`). pino's own `redact` option does the same by path, but parses
 * its paths again on every line; this walks only what a line holds, so the per-request line
 * (flat fields) costs a loop over four keys and allocates nothing. Objects are copied where a
 * value is replaced, never edited: the caller's object is left as it was.
 */

const HEADER_NAMES: ReadonlySet<string> = new Set(["authorization", "x-api-key", "api-key"]);
const KEY_FIELDS: ReadonlySet<string> = new Set(["api_key", "apikey"]);

type Fields = Record<string, unknown>;

export function redactLogFields(fields: Fields): Fields {
  let out = fields;
  for (const key in fields) {
    const value = fields[key];
    if (value === null || typeof value !== "object" || Array.isArray(value)) continue;
    let cleaned = redactKeys(value as Fields, KEY_FIELDS);
    if (key === "headers") cleaned = redactKeys(cleaned, HEADER_NAMES);
    if (key === "req") cleaned = redactRequestHeaders(cleaned);
    if (cleaned !== value) {
      if (out === fields) out = { ...fields };
      out[key] = cleaned;
    }
  }
  return out;
}

function redactRequestHeaders(req: Fields): Fields {
  const headers = req.headers;
  if (headers === null || typeof headers !== "object" || Array.isArray(headers)) return req;
  const cleaned = redactKeys(headers as Fields, HEADER_NAMES);
  return cleaned === headers ? req : { ...req, headers: cleaned };
}

/** `object` with the values of keys in `names` replaced, or `object` itself when it has none. */
function redactKeys(object: Fields, names: ReadonlySet<string>): Fields {
  let out = object;
  for (const key in object) {
    if (!Object.hasOwn(object, key) || object[key] === undefined) continue;
    if (!names.has(key) && !names.has(key.toLowerCase())) continue;
    if (out === object) out = { ...object };
    out[key] = REDACTED;
  }
  return out;
}
