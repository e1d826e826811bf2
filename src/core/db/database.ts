import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Kysely, Migrator, sql } from "kysely";
import pg from "pg";
import { KeelError } from "../errors.ts";
import { migrationProvider } from "./migrations/index.ts";
import { KeelPostgresDialect } from "./postgres-dialect.ts";
import { SqliteWorkerDialect } from "./sqlite-worker-dialect.ts";
import type { Database } from "./tables.ts";
import type { Logger } from "../logger.ts";

export type Engine = "sqlite" | "postgres";

export interface KeelDatabase {
  readonly db: Kysely<Database>;
  readonly engine: Engine;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A `postgres://` URL; without it, SQLite in `dataDir`. */
  url?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema to use (created if missing); tests isolate themselves with it. */
  schema?: string;
  /** SQLite file name inside dataDir, or ":memory:". */
  sqliteFile?: string;
  /** Told when SQLite's worker thread died and is being replaced. */
  logger?: Logger | undefined;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<KeelDatabase> {
  const handle =
    options.url === undefined
      ? await openSqlite(options)
      : await openPostgres(options.url, options.schema);
  await migrate(handle.db, options.url === undefined ? undefined : options.schema);
  return handle;
}

async function openSqlite(options: OpenDatabaseOptions): Promise<KeelDatabase> {
  const file = options.sqliteFile ?? "keel.db";
  let location = file;
  if (file !== ":memory:") {
    mkdirSync(options.dataDir, { recursive: true });
    location = join(options.dataDir, file);
  }
  const db = new Kysely<Database>({
    dialect: new SqliteWorkerDialect({
      location,
      busyTimeoutMs: 5_000,
      pragmas: ["journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"],
      onRestart: (cause) =>
        options.logger?.error(
          { err: cause },
          "the SQLite worker thread exited; queries in flight failed, starting a new one",
        ),
    }),
  });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new KeelError(
      "config_invalid",
      `cannot open the SQLite database ${location}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    db,
    engine: "sqlite",
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string, schema: string | undefined): Promise<KeelDatabase> {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new KeelError("config_invalid", `invalid PostgreSQL schema name "${schema}"`);
  }
  // bigint (int8) columns hold epoch ms and micro-dollars: well inside 2^53, so read as numbers.
  const getTypeParser = (oid: number, format?: "text" | "binary"): ((value: string) => unknown) =>
    oid === 20 ? Number : (pg.types.getTypeParser(oid, format) as (value: string) => unknown);
  const types = { getTypeParser };
  const poolConfig: pg.PoolConfig = { connectionString: url, max: 10, types };
  if (schema !== undefined) {
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    try {
      await setup.query(`create schema if not exists ${schema}`);
    } finally {
      await setup.end();
    }
    poolConfig.options = `-c search_path=${schema}`;
  }
  const pool = new pg.Pool(poolConfig);
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on("error", () => undefined);
  const db = new Kysely<Database>({ dialect: new KeelPostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy();
    throw new KeelError(
      "config_invalid",
      `cannot connect to PostgreSQL: ${(err as Error).message}`,
    );
  }
  return {
    db,
    engine: "postgres",
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

async function migrate(db: Kysely<Database>, schema: string | undefined): Promise<void> {
  // Kysely looks for its migration tables in every schema unless told which one: a second
  // schema holding them (another test's) would make it skip creating its own.
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new KeelError(
      "config_invalid",
      `database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      {
        cause: error,
      },
    );
  }
}
