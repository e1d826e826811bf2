import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API key strings: `sk-keel-` + 43 base62 characters (256 bits of randomness). Only a hash is
 * stored. The hash is plain SHA-256, not a slow password hash and not an HMAC with a server
 * secret: a key is 256 random bits, so there is no dictionary to try and guessing a preimage
 * is out of reach however fast the hash is; a slow hash would only slow every request down
 * (keys are checked on each one), and a pepper would tie every key to one more secret whose
 * loss locks everyone out. The hash is deterministic so that a key is found by a unique index.
 *
 * Keys supplied by an operator (KEEL_ADMIN_KEY) may use base64url characters too and must
 * carry at least 32 of them (192 bits when random).
 */
export const KEY_PREFIX = "sk-keel-";
const BODY_LENGTH = 43;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** The part of a key shown in listings: `sk-keel-` and four characters of the body. */
export const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 4;

const KEY_FORMAT = /^sk-keel-[A-Za-z0-9_-]{32,128}$/;

export const keyFormatHint =
  "an API key is sk-keel- followed by 32 to 128 characters of A-Z, a-z, 0-9, _ or -";

export function generateKey(): string {
  let body = "";
  // Rejection sampling keeps every character equally likely (248 = 4 × 62).
  while (body.length < BODY_LENGTH) {
    for (const byte of randomBytes(64)) {
      if (byte < 248 && body.length < BODY_LENGTH) body += BASE62[byte % 62]!;
    }
  }
  return KEY_PREFIX + body;
}

export function isKeyFormat(value: string): boolean {
  return KEY_FORMAT.test(value);
}

/** The stored form of a key: SHA-256, hex. */
export function hashKey(key: string): string {
  return hash("sha256", key, "hex");
}

export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** Compares two hex hashes in constant time. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}
