import type { Kysely } from "kysely";

// Migrations are typed against `unknown`: they must not depend on today's table types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("projects")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("limits", "text")
    .execute();

  // Keys are stored as a SHA-256 hash only (see src/auth/key-material.ts) and found by it.
  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("project_id", "text", (c) => c.references("projects.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("models", "text")
    .addColumn("limits", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("revoked_at", "bigint")
    .addColumn("last_used_at", "bigint")
    .addColumn("rotated_from", "text")
    .execute();

  await db.schema.createIndex("api_keys_hash").on("api_keys").column("hash").unique().execute();
  await db.schema
    .createIndex("api_keys_project_id")
    .on("api_keys")
    .columns(["project_id", "id"])
    .execute();
}
