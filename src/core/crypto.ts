import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from "node:crypto";
import { inspect } from "node:util";
import { KeelError } from "./errors.ts";

/**
 * AES-256-GCM encryption of values Keel stores. A ciphertext is one text value:
 *
 *   v1:<key-id>:<iv>:<tag>:<ciphertext>      (iv, tag and ciphertext in base64url)
 *
 * The key id names the master key that sealed it, so a keyring holding old and new keys can
 * open either and a rotation can tell which rows are done. The associated data binds a
 * ciphertext to its table, column and row id: a value copied into another row or column
 * fails to decrypt instead of silently reading as that row's secret.
 */

export const CIPHERTEXT_VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

/** Where a ciphertext lives; part of the authenticated data. */
export interface CipherContext {
  table: string;
  column: string;
  id: string;
}

/**
 * A master key. The raw bytes are never kept: an encryption key and a public key id are
 * derived from them with HKDF-SHA256. Like `Secret`, it never prints.
 */
export class MasterKey {
  readonly id: string;
  readonly #key: Buffer;
  readonly #subkeySeed: Buffer;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== MASTER_KEY_BYTES) {
      throw new KeelError(
        "config_invalid",
        `a master key must be ${MASTER_KEY_BYTES} bytes, got ${bytes.length}`,
      );
    }
    this.#key = Buffer.from(hkdfSync("sha256", bytes, Buffer.alloc(0), "keel/aes-256-gcm/v1", 32));
    const idBytes = Buffer.from(hkdfSync("sha256", bytes, Buffer.alloc(0), "keel/key-id/v1", 32));
    this.id = createHash("sha256").update(idBytes).digest("hex").slice(0, 16);
    this.#subkeySeed = Buffer.from(
      hkdfSync("sha256", bytes, Buffer.alloc(0), "keel/subkeys/v1", 32),
    );
  }

  /**
   * A 32-byte key for another purpose (named by `purpose`), derived from this one: it reveals
   * nothing about the master key or the keys of other purposes.
   */
  deriveKey(purpose: string): Buffer {
    return createHmac("sha256", this.#subkeySeed).update(purpose).digest();
  }

  /** Seals a UTF-8 string for the given place. */
  encrypt(plaintext: string, context: CipherContext): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(context));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [CIPHERTEXT_VERSION, this.id, b64(iv), b64(tag), b64(body)].join(":");
  }

  /** Opens a ciphertext sealed by this key; throws when it was altered or moved. */
  decrypt(ciphertext: string | ParsedCiphertext, context: CipherContext): string {
    const parsed = typeof ciphertext === "string" ? parseCiphertext(ciphertext) : ciphertext;
    if (parsed.keyId !== this.id) {
      throw new KeelError(
        "internal",
        `ciphertext was sealed by key ${parsed.keyId}, not ${this.id}`,
      );
    }
    const decipher = createDecipheriv("aes-256-gcm", this.#key, parsed.iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(associatedData(context));
    decipher.setAuthTag(parsed.tag);
    try {
      return Buffer.concat([decipher.update(parsed.body), decipher.final()]).toString("utf8");
    } catch (err) {
      throw new KeelError(
        "internal",
        `encrypted value in ${describeContext(context)} does not authenticate: it was altered, ` +
          "or copied from another row or column",
        { cause: err },
      );
    }
  }

  toString(): string {
    return `MasterKey(${this.id})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export interface ParsedCiphertext {
  version: typeof CIPHERTEXT_VERSION;
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  body: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const KEY_ID = /^[0-9a-f]{16}$/;

/** Splits a stored ciphertext into its parts; throws on anything that is not one. */
export function parseCiphertext(text: string): ParsedCiphertext {
  const parts = text.split(":");
  const [version, keyId, iv, tag, body] = parts;
  if (
    parts.length !== 5 ||
    version !== CIPHERTEXT_VERSION ||
    keyId === undefined ||
    !KEY_ID.test(keyId) ||
    iv === undefined ||
    tag === undefined ||
    body === undefined ||
    !B64URL.test(iv) ||
    !B64URL.test(tag) ||
    !B64URL.test(body)
  ) {
    throw new KeelError(
      "internal",
      `stored value is not a ${CIPHERTEXT_VERSION} ciphertext (expected v1:<key-id>:<iv>:<tag>:<ciphertext>)`,
    );
  }
  const parsed: ParsedCiphertext = {
    version: CIPHERTEXT_VERSION,
    keyId,
    iv: Buffer.from(iv, "base64url"),
    tag: Buffer.from(tag, "base64url"),
    body: Buffer.from(body, "base64url"),
  };
  if (parsed.iv.length !== IV_BYTES || parsed.tag.length !== TAG_BYTES) {
    throw new KeelError("internal", "stored ciphertext has a malformed iv or tag");
  }
  return parsed;
}

/** Whether a stored text value is a Keel ciphertext (JSON and plain text never start so). */
export function isCiphertext(text: string): boolean {
  return text.startsWith(`${CIPHERTEXT_VERSION}:`);
}

/** The key id a ciphertext names, without decrypting it; undefined for anything else. */
export function ciphertextKeyId(text: string): string | undefined {
  if (!isCiphertext(text)) return undefined;
  const keyId = text.split(":", 3)[1];
  return keyId !== undefined && KEY_ID.test(keyId) ? keyId : undefined;
}

/** A fresh random master key, for a new key file. */
export function generateMasterKeyBytes(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

function associatedData(context: CipherContext): Buffer {
  return Buffer.from(JSON.stringify(["keel", context.table, context.column, context.id]), "utf8");
}

export function describeContext(context: CipherContext): string {
  return `${context.table}.${context.column} (row ${context.id})`;
}

function b64(bytes: Buffer): string {
  return bytes.toString("base64url");
}
