import { sql, type Kysely } from "kysely";
import type { Database, TracesTable } from "../core/db/tables.ts";
import { engineOf } from "../core/db/engine.ts";
import { columnList, insertQueries } from "../core/db/insert-rows.ts";
import { runInTransaction } from "../core/db/steps.ts";
import { idFloor } from "../core/ids.ts";
import { summaryColumns, type SummaryRow } from "./trace-rows.ts";

/**
 * The traces table, through Kysely: the only file in this folder that speaks SQL.
 */

/** Every column of a trace row, in the order the INSERT names them. */
const TRACE_COLUMNS = columnList<TracesTable>({
  id: true,
  project_id: true,
  request_id: true,
  endpoint: true,
  model: true,
  status: true,
  http_status: true,
  stream: true,
  started_at: true,
  ended_at: true,
  latency_ms: true,
  ttft_ms: true,
  prompt_tokens: true,
  completion_tokens: true,
  tokens_estimated: true,
  cost_micros: true,
  finish_reason: true,
  error_code: true,
  error_message: true,
  attempts: true,
  request_body: true,
  response_body: true,
  metadata: true,
});

/** Inserts the rows in one transaction: all of them are written, or none. */
export async function insertTraces(
  db: Kysely<Database>,
  rows: readonly TracesTable[],
): Promise<void> {
  if (rows.length === 0) return;
  await runInTransaction(db, insertQueries(db, "traces", TRACE_COLUMNS, rows));
}

export interface TraceFilter {
  /** Only this project's traces; undefined for every project. */
  projectId?: string | undefined;
  model?: string | undefined;
  status?: "ok" | "error" | undefined;
  /** Only ids at or above this one. */
  fromId?: string | undefined;
  /** Only ids below this one (the previous page's last id, or a time bound). */
  beforeId?: string | undefined;
  limit: number;
}

/**
 * Newest first by id. Ids sort by creation time, so time bounds and the pagination cursor are
 * all ranges on the id: each filter is served by an index on (filter, id) or the primary key
 * without a sort, and a deep page costs what the first one does.
 */
export async function listTraces(db: Kysely<Database>, filter: TraceFilter): Promise<SummaryRow[]> {
  let query = db.selectFrom("traces").select(summaryColumns);
  if (filter.projectId !== undefined) query = query.where("project_id", "=", filter.projectId);
  if (filter.model !== undefined) query = query.where("model", "=", filter.model);
  if (filter.status !== undefined) query = query.where("status", "=", filter.status);
  if (filter.fromId !== undefined) query = query.where("id", ">=", filter.fromId);
  if (filter.beforeId !== undefined) query = query.where("id", "<", filter.beforeId);
  return query.orderBy("id", "desc").limit(filter.limit).execute();
}

export async function getTrace(db: Kysely<Database>, id: string): Promise<TracesTable | undefined> {
  return db.selectFrom("traces").selectAll().where("id", "=", id).executeTakeFirst();
}

/**
 * Runs `work` while holding the trace-retention lock, so that of several replicas sharing a
 * PostgreSQL database one prunes at a time (the others would only race it for the same
 * rows); `work` gets false when another holds the lock and should skip its run. The lock is
 * a transaction-level advisory lock in a transaction of its own that issues nothing else, so
 * it goes with that transaction however the run ends, the process's death included, and the
 * deletes keep their own short transactions. SQLite databases are one process's: no lock.
 */
export async function withRetentionLock<T>(
  db: Kysely<Database>,
  work: (held: boolean) => Promise<T>,
): Promise<T> {
  if (engineOf(db) !== "postgres") return work(true);
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ held: boolean }>`select pg_try_advisory_xact_lock(
        hashtext(current_schema() || '.trace_retention')) as held`.execute(trx);
    return work(rows[0]?.held === true);
  });
}

/**
 * Deletes up to `limit` traces that started before `cutoff`, oldest first, in one statement;
 * returns how many went. A trace's id begins with its start time (core/ids.ts), so "started
 * before" is an id range and the subquery walks the primary key: no index on `started_at` to
 * maintain on every insert. `IN (subquery with LIMIT)` because neither engine takes a LIMIT on
 * DELETE itself (SQLite only when built with an option).
 */
export async function deleteTracesStartedBefore(
  db: Kysely<Database>,
  cutoff: number,
  limit: number,
): Promise<number> {
  const result = await db
    .deleteFrom("traces")
    .where("id", "in", (eb) =>
      eb
        .selectFrom("traces")
        .select("id")
        .where("id", "<", idFloor("trace", cutoff))
        .orderBy("id")
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
