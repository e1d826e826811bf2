import { CompiledQuery, type Kysely, type QueryResult } from "kysely";
import { engineOf } from "./engine.ts";
import type { Database } from "./tables.ts";

/**
 * Several statements in one round trip to Keel's SQLite thread (sqlite-worker-dialect.ts).
 * Each message there wakes the thread, and on the virtual machines Keel was measured on waking
 * an idle thread cost the sender 100-300 µs of CPU: a batch written as BEGIN, three INSERTs
 * and COMMIT paid that five times. On SQLite the statements go as one message; the first
 * failure stops them and rolls back the transaction they opened, so a failed batch never
 * leaves one behind. On PostgreSQL they run one after the other on `db` (give it a transaction
 * or connection to hold them together). Keel's SQLite databases always use the worker dialect.
 */

const STEPS = Symbol("keel.steps");

interface StepsQuery extends CompiledQuery {
  readonly [STEPS]: readonly CompiledQuery[];
}

export async function runSteps(
  db: Kysely<Database>,
  queries: readonly CompiledQuery[],
): Promise<QueryResult<unknown>[]> {
  if (queries.length === 0) return [];
  if (engineOf(db) === "sqlite") {
    const query: StepsQuery = {
      sql: "-- keel: statements in one round trip",
      parameters: [],
      query: queries[0]!.query,
      queryId: queries[0]!.queryId,
      [STEPS]: queries,
    };
    const result = await db.executeQuery<QueryResult<unknown>>(query);
    return result.rows;
  }
  const results: QueryResult<unknown>[] = [];
  for (const query of queries) results.push(await db.executeQuery(query));
  return results;
}

/** The statements of a `runSteps` query, for the SQLite connection; undefined for any other. */
export function stepsOf(query: CompiledQuery): readonly CompiledQuery[] | undefined {
  return (query as Partial<StepsQuery>)[STEPS];
}

const BEGIN = CompiledQuery.raw("begin");
const COMMIT = CompiledQuery.raw("commit");

/**
 * The statements in one transaction: all of them applied, or none. One round trip on SQLite;
 * a Kysely transaction on PostgreSQL. `db` must not be in a transaction already.
 */
export async function runInTransaction(
  db: Kysely<Database>,
  queries: readonly CompiledQuery[],
): Promise<void> {
  if (queries.length === 0) return;
  if (engineOf(db) === "sqlite") {
    await runSteps(db, [BEGIN, ...queries, COMMIT]);
    return;
  }
  await db.transaction().execute((trx) => runSteps(trx, queries));
}
