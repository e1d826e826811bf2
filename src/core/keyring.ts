import { inspect } from "node:util";
import {
  MasterKey,
  ciphertextKeyId,
  describeContext,
  parseCiphertext,
  type CipherContext,
} from "./crypto.ts";
import { KeelError } from "./errors.ts";
import { Secret } from "./secret.ts";

/**
 * The master keys a Keel process holds: one primary key that seals new values and any older
 * keys that still open values sealed before a rotation. Values name their key by id, so a
 * keyring opens whatever it holds a key for; a rotation re-seals rows under the primary.
 * Key files on disk are in ./master-key-file.ts.
 */
export class Keyring {
  readonly primary: MasterKey;
  readonly #keys = new Map<string, MasterKey>();
  readonly #resolve: ((keyId: string) => MasterKey | undefined) | undefined;

  /**
   * @param resolve asked for a key id this keyring does not hold (a key file written by a
   *   rotation after this process started); the key it returns is kept.
   */
  constructor(
    primary: MasterKey,
    others: readonly MasterKey[] = [],
    resolve?: (keyId: string) => MasterKey | undefined,
  ) {
    this.primary = primary;
    for (const key of [primary, ...others]) {
      if (!this.#keys.has(key.id)) this.#keys.set(key.id, key);
    }
    this.#resolve = resolve;
  }

  get primaryId(): string {
    return this.primary.id;
  }

  /** Ids of the keys held, primary first. */
  keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** Seals a value under the primary key. */
  encrypt(plaintext: string, context: CipherContext): string {
    return this.primary.encrypt(plaintext, context);
  }

  /** Opens a value sealed by any key this keyring holds. */
  decrypt(ciphertext: string, context: CipherContext): string {
    const parsed = parseCiphertext(ciphertext);
    const key = this.#find(parsed.keyId);
    if (key === undefined) {
      throw new KeelError(
        "config_invalid",
        `${describeContext(context)} is encrypted with master key ${parsed.keyId}, which is not ` +
          `loaded (loaded: ${this.keyIds().join(", ")}): provide that key as a previous master key`,
      );
    }
    return key.decrypt(parsed, context);
  }

  /** Whether a stored value is sealed by a key other than the primary (or is not sealed). */
  needsRotation(stored: string): boolean {
    return ciphertextKeyId(stored) !== this.primary.id;
  }

  #find(keyId: string): MasterKey | undefined {
    const held = this.#keys.get(keyId);
    if (held !== undefined || this.#resolve === undefined) return held;
    const found = this.#resolve(keyId);
    if (found?.id !== keyId) return undefined;
    this.#keys.set(found.id, found);
    return found;
  }

  toString(): string {
    return `Keyring(primary ${this.primary.id}, ${this.#keys.size} keys)`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}={0,1}$/;

/**
 * Reads a 32-byte master key written as 64 hex characters or as base64 / base64url.
 * `source` names where it came from (`KEEL_MASTER_KEY`, a file path) in the error; the value
 * itself never appears in one.
 */
export function parseMasterKey(value: string | Secret, source: string): MasterKey {
  const text = (value instanceof Secret ? value.reveal() : value).trim();
  let bytes: Buffer | undefined;
  if (HEX_KEY.test(text)) bytes = Buffer.from(text, "hex");
  else if (BASE64_KEY.test(text)) bytes = Buffer.from(text, "base64");
  if (bytes?.length !== 32) {
    throw new KeelError(
      "config_invalid",
      `${source}: a master key must be 32 bytes written as 64 hex characters or as base64 ` +
        `(${text.length} characters given); generate one with \`openssl rand -base64 32\``,
    );
  }
  return new MasterKey(bytes);
}
