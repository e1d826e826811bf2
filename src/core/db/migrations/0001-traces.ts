import { sql, type Kysely } from "kysely";

// Migrations are typed against `unknown`: they must not depend on today's table types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("keel_meta")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("traces")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("project_id", "text")
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("endpoint", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("http_status", "integer", (c) => c.notNull())
    .addColumn("stream", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("ended_at", "bigint", (c) => c.notNull())
    .addColumn("latency_ms", "integer", (c) => c.notNull())
    .addColumn("ttft_ms", "integer")
    .addColumn("prompt_tokens", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("completion_tokens", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("tokens_estimated", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("cost_micros", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("finish_reason", "text")
    .addColumn("error_code", "text")
    .addColumn("error_message", "text")
    .addColumn("attempts", "text", (c) => c.notNull().defaultTo(sql.lit("[]")))
    .addColumn("request_body", "text")
    .addColumn("response_body", "text")
    .addColumn("metadata", "text", (c) => c.notNull().defaultTo(sql.lit("{}")))
    .execute();

  // One index per filter the traces API offers; ids sort by time, so (filter, id) serves
  // cursor pagination newest-first without a sort.
  await db.schema.createIndex("traces_model_id").on("traces").columns(["model", "id"]).execute();
  await db.schema.createIndex("traces_status_id").on("traces").columns(["status", "id"]).execute();
  await db.schema.createIndex("traces_started_at").on("traces").column("started_at").execute();
  await db.schema
    .createIndex("traces_project_id")
    .on("traces")
    .columns(["project_id", "id"])
    .execute();
}
