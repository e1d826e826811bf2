import type { Kysely } from "kysely";

// Migrations are typed against `unknown`: they must not depend on today's table types.
export async function up(db: Kysely<unknown>): Promise<void> {
  // The hash-chained audit log. `seq` is assigned by the appender (head + 1) inside the
  // transaction that holds the chain lock, so it is gapless; a gap means a deleted entry.
  await db.schema
    .createTable("audit_log")
    .addColumn("seq", "bigint", (c) => c.primaryKey())
    .addColumn("id", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("actor_key_id", "text")
    .addColumn("project_id", "text")
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("resource_type", "text")
    .addColumn("resource_id", "text")
    .addColumn("outcome", "text", (c) => c.notNull())
    .addColumn("status_code", "integer")
    .addColumn("details", "text", (c) => c.notNull())
    .addColumn("prev_hash", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .execute();

  // One index per filter the audit API offers; (filter, seq) serves newest-first pages.
  await db.schema
    .createIndex("audit_log_action_seq")
    .on("audit_log")
    .columns(["action", "seq"])
    .execute();
  await db.schema
    .createIndex("audit_log_actor_seq")
    .on("audit_log")
    .columns(["actor_key_id", "seq"])
    .execute();
  await db.schema
    .createIndex("audit_log_project_seq")
    .on("audit_log")
    .columns(["project_id", "seq"])
    .execute();
  await db.schema
    .createIndex("audit_log_created_at")
    .on("audit_log")
    .column("created_at")
    .execute();
}
