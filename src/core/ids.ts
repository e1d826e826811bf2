import { randomFillSync } from "node:crypto";

/**
 * Prefixed, lexicographically sortable ids: `trc_` + 10 characters of millisecond time +
 * 16 characters of randomness, in Crockford base32 (the ULID layout). Sorting ids sorts by
 * creation time, which cursor pagination relies on.
 *
 * Several ids are made per request, so randomness is drawn from the CSPRNG a pool at a time
 * (one call per 256 ids instead of one per id) and the time part is reused within a
 * millisecond. Each byte of the pool is used once.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_CHARS = 16;
const POOL_BYTES = RANDOM_CHARS * 256;
const ALPHABET_CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const pool = Buffer.alloc(POOL_BYTES);
/** The character codes of one random part, reused from id to id. */
const codes: number[] = new Array<number>(RANDOM_CHARS).fill(0);
let poolOffset = POOL_BYTES;
let lastMs = -1;
let lastTime = "";

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

/** The time part for `ms`, remembered for the next id made in the same millisecond. */
function timePart(ms: number): string {
  if (ms !== lastMs) {
    lastTime = encodeTime(ms);
    lastMs = ms;
  }
  return lastTime;
}

/**
 * 16 characters from fresh pool bytes (32 divides 256, so every character is equally likely).
 * Made in one go from character codes: appending character by character left 16 intermediate
 * strings per id (~0.5 KB of garbage, and ids are made several times per request).
 */
function randomPart(): string {
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  for (let i = 0; i < RANDOM_CHARS; i++) codes[i] = ALPHABET_CODES[pool[poolOffset + i]! & 31]!;
  poolOffset += RANDOM_CHARS;
  return String.fromCharCode(...codes);
}

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${idPrefixes[kind]}_${timePart(now)}${randomPart()}`;
}

/**
 * The smallest id `newId(kind, ms)` can make: every id created at or after `ms` sorts at or
 * above it, every earlier one below. Turns a time range into an id range.
 */
export function idFloor(kind: IdKind, ms: number): string {
  // Ten base-32 characters hold 2^50 ms (the year 37,648); a time before 1970 (an ISO date
  // asked for in a filter) is below every id, as the smallest floor is.
  const time = Math.min(Math.max(Math.floor(ms), 0), MAX_TIME_MS);
  return `${idPrefixes[kind]}_${encodeTime(time)}${ALPHABET[0]!.repeat(RANDOM_CHARS)}`;
}

const MAX_TIME_MS = 2 ** 50 - 1;

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
