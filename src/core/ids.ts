import { randomBytes } from "node:crypto";

/**
 * Prefixed, lexicographically sortable ids: `trc_` + 10 characters of millisecond time +
 * 16 characters of randomness, in Crockford base32 (the ULID layout). Sorting ids sorts by
 * creation time, which cursor pagination relies on.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export const idPrefixes = {
  trace: "trc",
  attempt: "att",
  request: "req",
  project: "prj",
  key: "key",
  audit: "aud",
  model: "mdl",
  run: "run",
} as const;

export type IdKind = keyof typeof idPrefixes;

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(chars: number): string {
  const bytes = randomBytes(chars);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % 32]!;
  return out;
}

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${idPrefixes[kind]}_${encodeTime(now)}${encodeRandom(16)}`;
}

/**
 * The smallest id `newId(kind, ms)` can make: every id created at or after `ms` sorts at or
 * above it, every earlier one below. Turns a time range into an id range.
 */
export function idFloor(kind: IdKind, ms: number): string {
  return `${idPrefixes[kind]}_${encodeTime(ms)}${ALPHABET[0]!.repeat(16)}`;
}

/** The creation time encoded in an id made by `newId`, or undefined for a foreign string. */
export function idTime(id: string): number | undefined {
  const body = id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11);
  if (body.length !== 10) return undefined;
  let ms = 0;
  for (const ch of body) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    ms = ms * 32 + v;
  }
  return ms;
}
