import type { Kysely } from "kysely";
import type { AuditLogTable, Database } from "../core/db/tables.ts";
import { parseInput } from "../core/error-render.ts";
import { newId } from "../core/ids.ts";
import { ChainVerifier, GENESIS_HASH, canonicalJson, entryHash } from "./chain.ts";
import { cleanString, sanitizeDetails } from "./redact.ts";
import {
  auditEventSchema,
  type AuditEntry,
  type AuditEvent,
  type AuditFilter,
  type AuditPage,
  type AuditVerifyResult,
  type ChainBreak,
} from "./schema.ts";
import { appendToChain, listEntries, scanEntries } from "./store.ts";

/**
 * The audit log's rules: append (one event, or a batch in one transaction), list newest first
 * with cursor pages, verify the whole chain, export it. Verification and export walk the log
 * in pages in seq order and never hold it all in memory.
 */
export interface AuditService {
  append(event: AuditEvent): Promise<AuditEntry>;
  /** Appends in order, in one transaction. */
  appendMany(events: readonly AuditEvent[]): Promise<AuditEntry[]>;
  /**
   * The hot path for Keel's own typed producers (the queue): appends in order, in one
   * transaction, like `appendMany`, but trusts that the events were already checked (see
   * `checkEvent` in queue.ts) instead of parsing each one again, and resolves with the count
   * instead of reading the entries back. Redaction, bounds and the chain are the same.
   */
  appendChecked(events: readonly AuditEvent[]): Promise<number>;
  list(
    filter: AuditFilter,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<AuditPage>;
  verify(): Promise<AuditVerifyResult>;
  /** JSON lines, oldest first, one entry each. */
  exportLines(filter?: AuditFilter): AsyncGenerator<string>;
}

export interface AuditServiceOptions {
  now?: () => number;
  /** Rows per page when verifying and exporting. */
  pageSize?: number;
}

const MAX_DETAILS_CHARS = 32_768;
const MAX_DATE_MS = 8.64e15;
const limits = {
  actor_key_id: 200,
  project_id: 200,
  ip: 100,
  user_agent: 512,
  resource_type: 100,
  resource_id: 300,
} as const;

export function createAuditService(
  db: Kysely<Database>,
  options: AuditServiceOptions = {},
): AuditService {
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 1_000;

  const appendMany = async (events: readonly AuditEvent[]): Promise<AuditEntry[]> => {
    if (events.length === 0) return [];
    const at = now();
    const prepared = events.map((event) => prepare(event, at));
    const rows = await appendToChain(db, (head) => chain(prepared, head));
    return rows.map(toEntry);
  };

  return {
    appendMany,
    appendChecked: async (events) => {
      if (events.length === 0) return 0;
      const at = now();
      const prepared = events.map((event) => prepareChecked(event, at));
      const rows = await appendToChain(db, (head) => chain(prepared, head));
      return rows.length;
    },
    append: async (event) => (await appendMany([event]))[0]!,

    list: async (filter, page) => {
      const beforeSeq = page.cursor === undefined ? undefined : Number(page.cursor);
      const rows = await listEntries(db, filter, { limit: page.limit + 1, beforeSeq });
      const more = rows.length > page.limit;
      const data = rows.slice(0, page.limit).map(toEntry);
      const last = data.at(-1);
      return { data, next_cursor: more && last !== undefined ? String(last.seq) : null };
    },

    verify: async () => {
      const verifier = new ChainVerifier();
      let firstBad: ChainBreak | undefined;
      let afterSeq = 0;
      for (;;) {
        const rows = await scanEntries(db, {}, { limit: pageSize, afterSeq });
        for (const row of rows) {
          const bad = verifier.check(row);
          firstBad ??= bad;
        }
        const last = rows.at(-1);
        if (last === undefined || rows.length < pageSize) break;
        // A hand-edited seq could repeat or go backwards; never walk the same page twice.
        afterSeq = Math.max(afterSeq + 1, Number(last.seq));
      }
      return {
        ok: firstBad === undefined,
        entries: verifier.entries,
        head: verifier.head,
        ...(firstBad === undefined ? {} : { first_bad: firstBad }),
      };
    },

    exportLines: async function* (filter = {}) {
      let afterSeq = 0;
      for (;;) {
        const rows = await scanEntries(db, filter, { limit: pageSize, afterSeq });
        if (rows.length > 0) yield rows.map((row) => `${JSON.stringify(toEntry(row))}\n`).join("");
        const last = rows.at(-1);
        if (last === undefined || rows.length < pageSize) return;
        afterSeq = Math.max(afterSeq + 1, Number(last.seq));
      }
    },
  };
}

/**
 * A row to append, complete but for its place in the chain: `seq`, `prev_hash` and `hash` are
 * placeholders until chain() sets them (in place, sparing a copy of every row).
 */
type Prepared = AuditLogTable;

/** Validates an event and turns it into stored fields: cleaned, bounded, no credentials. */
export function prepare(event: AuditEvent, defaultAt: number): Prepared {
  return prepareChecked(parseInput(auditEventSchema, event), defaultAt);
}

/** `prepare` for an event that already has the schema's shape. */
function prepareChecked(e: AuditEvent, defaultAt: number): Prepared {
  const createdAt = e.at ?? defaultAt;
  let details = canonicalJson(sanitizeDetails(e.details ?? {}));
  if (details.length > MAX_DETAILS_CHARS) {
    details = canonicalJson({ truncated: true, size: details.length });
  }
  return {
    seq: 0,
    id: newId("audit", createdAt),
    created_at: createdAt,
    actor_key_id: clean(e.actor_key_id, limits.actor_key_id),
    project_id: clean(e.project_id, limits.project_id),
    ip: clean(e.ip, limits.ip),
    user_agent: clean(e.user_agent, limits.user_agent),
    action: e.action,
    resource_type: clean(e.resource_type, limits.resource_type),
    resource_id: clean(e.resource_id, limits.resource_id),
    outcome: e.outcome,
    status_code: e.status_code ?? null,
    details,
    prev_hash: "",
    hash: "",
  };
}

function clean(value: string | null | undefined, max: number): string | null {
  return value === null || value === undefined ? null : cleanString(value, max);
}

/** Links prepared rows, in order, to the chain's head; returns the same rows. */
function chain(rows: Prepared[], head: { seq: number; hash: string } | undefined): AuditLogTable[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  for (const row of rows) {
    row.seq = ++seq;
    row.prev_hash = prevHash;
    prevHash = entryHash(row);
    row.hash = prevHash;
  }
  return rows;
}

/** A stored row as the API shows it: ISO time, details as an object. */
export function toEntry(row: AuditLogTable): AuditEntry {
  const ms = Number(row.created_at);
  return {
    seq: Number(row.seq),
    id: row.id,
    created_at: Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : String(row.created_at),
    actor_key_id: row.actor_key_id,
    project_id: row.project_id,
    ip: row.ip,
    user_agent: row.user_agent,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    outcome: row.outcome,
    status_code: row.status_code === null ? null : Number(row.status_code),
    details: parseDetails(row.details),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // An entry edited by hand: show what is there; verify reports it.
  }
  return { unparsed: text };
}
