import { CompiledQuery, sql, type Kysely, type SelectQueryBuilder } from "kysely";
import { engineOf } from "../core/db/engine.ts";
import { columnList, insertQueries } from "../core/db/insert-rows.ts";
import { runSteps } from "../core/db/steps.ts";
import { idFloor } from "../core/ids.ts";
import type { AuditLogTable, Database } from "../core/db/tables.ts";
import type { AuditFilter } from "./schema.ts";

/**
 * The audit log's SQL. Appends hold the chain lock for the whole read-head-then-insert, so two
 * concurrent appends (in one process or across replicas) can never fork the chain:
 * - PostgreSQL: a transaction-level advisory lock, keyed by schema, taken in the insert
 *   transaction and released at commit;
 * - SQLite: `BEGIN IMMEDIATE` takes the database write lock before the head is read.
 * There is no delete or update here: the log is append-only through Keel's code.
 */

export interface ChainHead {
  seq: number;
  hash: string;
}

/** Every column of an entry, in the order the INSERT names them. */
const AUDIT_COLUMNS = columnList<AuditLogTable>({
  seq: true,
  id: true,
  created_at: true,
  actor_key_id: true,
  project_id: true,
  ip: true,
  user_agent: true,
  action: true,
  resource_type: true,
  resource_id: true,
  outcome: true,
  status_code: true,
  details: true,
  prev_hash: true,
  hash: true,
});

/**
 * Reads the chain head, builds the rows to append from it and inserts them, all under the
 * chain lock. Returns the inserted rows.
 */
export async function appendToChain(
  db: Kysely<Database>,
  build: (head: ChainHead | undefined) => AuditLogTable[],
): Promise<AuditLogTable[]> {
  if (engineOf(db) === "postgres") {
    return db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`.execute(
        trx,
      );
      const head = await trx.executeQuery<HeadRow>(headQuery(trx));
      const rows = build(toHead(head.rows[0]));
      await runSteps(trx, insertQueries(trx, "audit_log", AUDIT_COLUMNS, rows));
      return rows;
    });
  }
  // Kysely hands out SQLite's single connection to one caller at a time. Two round trips:
  // lock and read the head, then insert and commit (a failed step rolls back there).
  return db.connection().execute(async (conn) => {
    const [, head] = await runSteps(conn, [BEGIN_IMMEDIATE, headQuery(conn)]);
    try {
      const rows = build(toHead(head?.rows[0] as HeadRow | undefined));
      await runSteps(conn, [...insertQueries(conn, "audit_log", AUDIT_COLUMNS, rows), COMMIT]);
      return rows;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

const BEGIN_IMMEDIATE = CompiledQuery.raw("begin immediate");
const COMMIT = CompiledQuery.raw("commit");

type HeadRow = Pick<AuditLogTable, "seq" | "hash">;

function headQuery(db: Kysely<Database>): CompiledQuery<HeadRow> {
  return db
    .selectFrom("audit_log")
    .select(["seq", "hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .compile();
}

function toHead(row: HeadRow | undefined): ChainHead | undefined {
  return row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
}

/** Newest first, `limit` rows with seq below `beforeSeq`. */
export async function listEntries(
  db: Kysely<Database>,
  filter: AuditFilter,
  page: { limit: number; beforeSeq?: number | undefined },
): Promise<AuditLogTable[]> {
  let query = db.selectFrom("audit_log").selectAll();
  query = applyFilter(query, filter);
  if (page.beforeSeq !== undefined) query = query.where("seq", "<", page.beforeSeq);
  return query.orderBy("seq", "desc").limit(page.limit).execute();
}

/** Oldest first, `limit` rows with seq above `afterSeq`: a page of a full walk. */
export async function scanEntries(
  db: Kysely<Database>,
  filter: AuditFilter,
  page: { limit: number; afterSeq: number },
): Promise<AuditLogTable[]> {
  let query = db.selectFrom("audit_log").selectAll();
  query = applyFilter(query, filter);
  return query.where("seq", ">", page.afterSeq).orderBy("seq", "asc").limit(page.limit).execute();
}

type AuditQuery = SelectQueryBuilder<Database, "audit_log", AuditLogTable>;

function applyFilter(query: AuditQuery, filter: AuditFilter): AuditQuery {
  let q = query;
  if (filter.action !== undefined) q = q.where("action", "=", filter.action);
  if (filter.actor_key_id !== undefined) q = q.where("actor_key_id", "=", filter.actor_key_id);
  if (filter.project_id !== undefined) q = q.where("project_id", "=", filter.project_id);
  // An entry's id begins with its created_at (core/ids.ts): a time window is an id range,
  // served by the id's index.
  if (filter.since !== undefined) q = q.where("id", ">=", idFloor("audit", filter.since));
  if (filter.until !== undefined) q = q.where("id", "<", idFloor("audit", filter.until + 1));
  return q;
}
