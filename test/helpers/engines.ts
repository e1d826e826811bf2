import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { openDatabase, type Engine, type KeelDatabase } from "../../src/core/db/database.ts";

/**
 * Store tests run on every engine: SQLite always, PostgreSQL when KEEL_TEST_DATABASE_URL is
 * set (`.ci/run` sets it). Each opened database is fresh: a temp SQLite file, or a PostgreSQL
 * schema of its own that is dropped afterwards.
 *
 *   for (const engine of engines()) {
 *     describe(`trace store on ${engine.name}`, { skip: engine.skip }, () => { … engine.open() … });
 *   }
 */
export interface EngineCase {
  name: Engine;
  /** A reason to skip (shown by the test runner), or false. */
  skip: string | false;
  open(): Promise<TestDatabase>;
}

export interface TestDatabase extends KeelDatabase {
  /** Closes and deletes the test database. */
  dispose(): Promise<void>;
}

export const postgresUrl = process.env.KEEL_TEST_DATABASE_URL;
export const redisUrl = process.env.KEEL_TEST_REDIS_URL;

export function engines(): EngineCase[] {
  return [
    { name: "sqlite", skip: false, open: openSqliteTestDatabase },
    {
      name: "postgres",
      skip: postgresUrl ? false : "KEEL_TEST_DATABASE_URL is not set: PostgreSQL tests skipped",
      open: () => openPostgresTestDatabase(postgresUrl!),
    },
  ];
}

export async function openSqliteTestDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "keel-test-db-"));
  const database = await openDatabase({ dataDir: dir });
  return {
    ...database,
    dispose: async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function openPostgresTestDatabase(url: string): Promise<TestDatabase> {
  const schema = `keel_test_${randomBytes(6).toString("hex")}`;
  const database = await openDatabase({ url, dataDir: tmpdir(), schema });
  return {
    ...database,
    dispose: async () => {
      await database.close();
      await dropPostgresSchema(url, schema);
    },
  };
}

/** Drops a schema a test or benchmark made for itself, with everything in it. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}
