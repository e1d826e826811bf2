import type { Kysely } from "kysely";

/**
 * A project's key lists its own traces, so every filter the traces API offers is also asked
 * together with project_id. (project_id, filter, id) serves those newest-first pages without
 * a scan: `npm run bench -- traces` showed project + status=error at 40× its 10k-row latency
 * on PostgreSQL at a million rows with only the single-column indexes.
 */
// Migrations are typed against `unknown`: they must not depend on today's table types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex("traces_project_status_id")
    .on("traces")
    .columns(["project_id", "status", "id"])
    .execute();
  await db.schema
    .createIndex("traces_project_model_id")
    .on("traces")
    .columns(["project_id", "model", "id"])
    .execute();
}
