import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { openDatabase, type Engine, type KeelDatabase } from "../src/core/db/database.ts";
import { dropPostgresSchema } from "../test/helpers/engines.ts";

/**
 * A fresh, migrated Keel database for a benchmark, opened as Keel opens its own: SQLite in a
 * temp dir, or a schema of its own in the PostgreSQL at `url` (as test/helpers/engines.ts
 * isolates tests). `dispose` deletes it: the temp dir, or the schema.
 */
export interface BenchDatabase extends KeelDatabase {
  /** Where it lives, for the report: the SQLite file or `schema` on the server. */
  readonly location: string;
  /** Bytes the traces table takes: the SQLite file and its WAL, or PostgreSQL's total size. */
  tracesBytes(): Promise<number>;
  dispose(): Promise<void>;
}

export async function openBenchDatabase(engine: Engine, url?: string): Promise<BenchDatabase> {
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "keel-bench-traces-"));
    try {
      const database = await openDatabase({ dataDir: dir });
      const file = join(dir, "keel.db");
      return {
        ...database,
        location: file,
        tracesBytes: () => Promise.resolve(fileSize(file) + fileSize(`${file}-wal`)),
        dispose: async () => {
          await database.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  if (url === undefined) {
    throw new Error(
      "--engine postgres needs KEEL_TEST_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test)",
    );
  }
  const schema = `keel_bench_${randomBytes(6).toString("hex")}`;
  const drop = () => dropPostgresSchema(url, schema);
  let database: KeelDatabase;
  try {
    database = await openDatabase({ url, dataDir: tmpdir(), schema });
  } catch (err) {
    await drop();
    throw err;
  }
  return {
    ...database,
    location: `schema ${schema}`,
    tracesBytes: async () => {
      const { rows } = await sql<{
        bytes: number;
      }>`select pg_total_relation_size('traces') as bytes`.execute(database.db);
      return Number(rows[0]?.bytes ?? 0);
    },
    dispose: async () => {
      await database.close();
      await drop();
    },
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // no WAL yet
  }
}
