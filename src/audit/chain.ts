import { hash } from "node:crypto";
import type { AuditLogTable } from "../core/db/tables.ts";
import type { JsonValue } from "./redact.ts";
import type { ChainBreak } from "./schema.ts";

/**
 * The hash chain. Each entry's `hash` is the SHA-256 (hex) of a canonical serialisation of its
 * own fields and the previous entry's hash, so editing, deleting or reordering any entry
 * breaks the chain at that entry. The serialisation is a JSON array in a fixed field order
 * holding only strings, integers and nulls (times as epoch ms, details as the stored
 * canonical JSON text), so SQLite and PostgreSQL rows hash identically.
 */

export const GENESIS_HASH = "0".repeat(64);
const FORMAT = "keel.audit.v1";

export type ChainFields = Omit<AuditLogTable, "hash">;

/** Raised for a row whose columns do not have the types an entry has (edited by hand). */
export class MalformedEntryError extends Error {
  override readonly name = "MalformedEntryError";
}

/** The exact bytes an entry's hash covers. */
export function canonicalEntry(fields: ChainFields): string {
  return JSON.stringify([
    FORMAT,
    integer(fields.seq, "seq"),
    text(fields.id, "id"),
    integer(fields.created_at, "created_at"),
    nullableText(fields.actor_key_id, "actor_key_id"),
    nullableText(fields.project_id, "project_id"),
    nullableText(fields.ip, "ip"),
    nullableText(fields.user_agent, "user_agent"),
    text(fields.action, "action"),
    nullableText(fields.resource_type, "resource_type"),
    nullableText(fields.resource_id, "resource_id"),
    text(fields.outcome, "outcome"),
    fields.status_code === null ? null : integer(fields.status_code, "status_code"),
    text(fields.details, "details"),
    text(fields.prev_hash, "prev_hash"),
  ]);
}

export function entryHash(fields: ChainFields): string {
  return hash("sha256", canonicalEntry(fields), "hex");
}

/** JSON with object keys sorted at every level; the stored form of an entry's details. */
export function canonicalJson(value: JsonValue): string {
  // Details mostly arrive with their keys in order already (the HTTP hook writes them so), and
  // then the native serialiser writes the same text several times faster than sortedJson.
  return isCanonical(value) ? JSON.stringify(value) : sortedJson(value);
}

function sortedJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(value[k]!)}`).join(",")}}`;
}

/**
 * Whether JSON.stringify writes `value` exactly as sortedJson does: plain objects with their
 * keys already in sorted order, arrays without holes, and only strings, numbers, booleans and
 * nulls inside. Anything else (undefined, a bigint, a `toJSON` method, a class instance or a
 * boxed primitive) is written differently by the two, so it takes the slow path.
 */
function isCanonical(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return true;
    case "object":
      break;
    default:
      return false;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!isCanonical(value[i])) return false;
    return true;
  }
  if (prototype !== Object.prototype) return false;
  const record = value as Record<string, unknown>;
  let previous: string | undefined;
  // for-in visits the own keys first, in Object.keys order, without allocating an array of
  // them; an inherited enumerable key (a polluted Object.prototype) can only make this false.
  for (const key in record) {
    if ((previous !== undefined && previous >= key) || !isCanonical(record[key])) return false;
    previous = key;
  }
  return true;
}

/**
 * Walks entries in seq order and reports the first one that breaks the chain: a seq that
 * does not follow its predecessor (an entry was deleted or moved), a `prev_hash` that is not
 * the previous entry's hash (deleted, reordered or re-hashed), or a `hash` that does not match
 * the entry's content (edited).
 */
export class ChainVerifier {
  #expectedSeq = 1;
  #prevHash = GENESIS_HASH;
  #count = 0;
  #head: { seq: number; hash: string } | null = null;

  get entries(): number {
    return this.#count;
  }

  get head(): { seq: number; hash: string } | null {
    return this.#head;
  }

  check(row: AuditLogTable): ChainBreak | undefined {
    this.#count++;
    const seq = Number(row.seq);
    const id = String(row.id);
    const expectedSeq = this.#expectedSeq;
    const expectedPrev = this.#prevHash;
    this.#expectedSeq = seq + 1;
    this.#prevHash = String(row.hash);
    this.#head = { seq, hash: String(row.hash) };

    if (seq !== expectedSeq) {
      const missing = seq > expectedSeq ? `entries ${expectedSeq}..${seq - 1} are missing` : "";
      return {
        seq,
        id,
        reason: "seq_gap",
        message: `entry ${seq} (${id}) follows entry ${expectedSeq - 1}: ${missing || "seq out of order"}`,
      };
    }
    if (row.prev_hash !== expectedPrev) {
      return {
        seq,
        id,
        reason: "prev_mismatch",
        message: `entry ${seq} (${id}) does not link to the entry before it: an entry was deleted, reordered or rewritten`,
      };
    }
    let actual: string;
    try {
      actual = entryHash(row);
    } catch (err) {
      if (!(err instanceof MalformedEntryError)) throw err;
      return { seq, id, reason: "malformed", message: `entry ${seq} (${id}): ${err.message}` };
    }
    if (actual !== row.hash) {
      return {
        seq,
        id,
        reason: "hash_mismatch",
        message: `entry ${seq} (${id}) was altered: its content does not match its hash`,
      };
    }
    return undefined;
  }
}

function integer(value: unknown, field: string): number {
  const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) {
    throw new MalformedEntryError(`${field} is not an integer`);
  }
  return n;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string") throw new MalformedEntryError(`${field} is not text`);
  return value;
}

function nullableText(value: unknown, field: string): string | null {
  return value === null ? null : text(value, field);
}
