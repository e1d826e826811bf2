import type { Kysely } from "kysely";

/**
 * An audit entry's id begins with its `created_at` (core/ids.ts; the service has always made
 * it so), and the id already has a unique index: the API's since/until filters now ask for an
 * id range there, and the index on `created_at` (one more B-tree update for every entry, and
 * every model invocation appends one) goes.
 */
// Migrations are typed against `unknown`: they must not depend on today's table types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("audit_log_created_at").ifExists().execute();
}
