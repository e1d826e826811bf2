import {
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  PostgresDialect,
  sql,
  type ColumnMetadata,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  type Kysely,
  type SchemaMetadata,
  type TableMetadata,
} from "kysely";

/**
 * Kysely's PostgreSQL dialect with an introspector that only looks at Keel's own schema
 * (`current_schema()`, i.e. the first schema of the search path).
 *
 * Kysely's stock introspector reads every column of every schema in the database and calls
 * `has_schema_privilege()` by name on each: in a shared database that is slow, it sees other
 * applications' `kysely_migration` tables as Keel's own, and it fails outright ("schema …
 * does not exist") when any other schema is dropped while it runs. The migrator is its only
 * user in Keel, at start-up.
 */
export class KeelPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}

interface ColumnRow {
  schema: string;
  table: string;
  table_type: string;
  column: string;
  type: string;
  type_schema: string;
  is_nullable: string;
  column_default: string | null;
  is_identity: string;
}

class CurrentSchemaIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<unknown>;

  constructor(db: Kysely<unknown>) {
    this.#db = db;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`
      select nspname as name from pg_catalog.pg_namespace`.execute(this.#db);
    return rows;
  }

  async getTables(
    options: DatabaseMetadataOptions = { withInternalKyselyTables: false },
  ): Promise<TableMetadata[]> {
    const { rows } = await sql<ColumnRow>`
      select c.table_schema as schema, c.table_name as table, t.table_type,
             c.column_name as column, c.udt_name as type, c.udt_schema as type_schema,
             c.is_nullable, c.column_default, c.is_identity
        from information_schema.columns c
        join information_schema.tables t
          on t.table_schema = c.table_schema and t.table_name = c.table_name
       where c.table_schema = current_schema()
       order by c.table_name, c.ordinal_position`.execute(this.#db);
    const internal = new Set([DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE]);
    const tables = new Map<string, { meta: TableMetadata; columns: ColumnMetadata[] }>();
    for (const row of rows) {
      if (!options.withInternalKyselyTables && internal.has(row.table)) continue;
      let entry = tables.get(row.table);
      if (entry === undefined) {
        const columns: ColumnMetadata[] = [];
        entry = {
          meta: { name: row.table, schema: row.schema, isView: row.table_type === "VIEW", columns },
          columns,
        };
        tables.set(row.table, entry);
      }
      entry.columns.push({
        name: row.column,
        dataType: row.type,
        dataTypeSchema: row.type_schema,
        isNullable: row.is_nullable === "YES",
        hasDefaultValue: row.column_default !== null || row.is_identity === "YES",
        isAutoIncrementing:
          row.is_identity === "YES" || (row.column_default?.startsWith("nextval(") ?? false),
      });
    }
    return [...tables.values()].map((t) => t.meta);
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}
