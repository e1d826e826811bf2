import { CompiledQuery, type Kysely } from "kysely";
import type { Engine } from "./database.ts";
import { engineOf } from "./engine.ts";
import type { Database } from "./tables.ts";

/**
 * Multi-row INSERTs for the write-behind queues (traces, the audit log), which write thousands
 * of rows a second under load. Kysely's builder makes a query tree of every value and compiles
 * it again for each batch, which cost more main-thread time than anything else in a batch.
 * Here the statement text is built once per shape and kept, and the values go in as one flat
 * parameter list.
 *
 * A batch is cut into statements of power-of-two row counts (200 rows: 128 + 64 + 8), so a
 * table has at most a dozen statement texts whatever the batch sizes: this cache stays small
 * and SQLite's prepared-statement cache keeps hitting. Rows go in the order given; steps.ts
 * runs the statements, in one transaction where that matters.
 *
 * On SQLite the statements are `insert or rollback`: a row that fails ends the whole
 * transaction at once, which is what every caller wants anyway (a batch is written whole or
 * not at all). A plain INSERT inside a transaction makes SQLite keep a statement journal, to
 * undo that one statement alone, and past 64 KiB it spills to a temporary file: every batch
 * statement created, wrote page by page and deleted one (about 1.2 page writes per trace row
 * under load, traced with strace). Without it a row takes ~15% less time to write.
 */

/** Rows per statement, at most; PostgreSQL also caps a statement at 65,535 parameters. */
const MAX_ROWS = 256;
const MAX_PARAMETERS = 65_535;

const statements = new Map<string, string>();

/**
 * A table's columns, from an object that names each of them: the compiler refuses a list that
 * misses a column or names one the table does not have.
 */
export function columnList<Row>(columns: Record<keyof Row & string, true>): (keyof Row & string)[] {
  return Object.keys(columns) as (keyof Row & string)[];
}

/** The INSERT statements that write `rows`, in order; run them with steps.ts. */
export function insertQueries<T extends keyof Database>(
  db: Kysely<Database>,
  table: T,
  columns: readonly (keyof Database[T] & string)[],
  rows: readonly Database[T][],
): CompiledQuery[] {
  const engine = engineOf(db);
  const largest = Math.min(
    MAX_ROWS,
    largestPowerOfTwo(Math.floor(MAX_PARAMETERS / columns.length)),
  );
  const queries: CompiledQuery[] = [];
  let start = 0;
  while (start < rows.length) {
    const count = Math.min(largest, largestPowerOfTwo(rows.length - start));
    const parameters: unknown[] = new Array(count * columns.length);
    let p = 0;
    for (let r = start; r < start + count; r++) {
      const row = rows[r]!;
      for (const column of columns) parameters[p++] = row[column] ?? null;
    }
    queries.push(CompiledQuery.raw(statementFor(engine, table, columns, count), parameters));
    start += count;
  }
  return queries;
}

function statementFor(
  engine: Engine,
  table: string,
  columns: readonly string[],
  count: number,
): string {
  const key = `${engine}\u0000${table}\u0000${columns.join(",")}\u0000${count}`;
  let text = statements.get(key);
  if (text === undefined) {
    const tuples: string[] = [];
    let n = 0;
    for (let r = 0; r < count; r++) {
      const marks = columns.map(() => (engine === "postgres" ? `$${++n}` : "?"));
      tuples.push(`(${marks.join(",")})`);
    }
    const names = columns.map((c) => `"${c}"`).join(",");
    const verb = engine === "sqlite" ? "insert or rollback" : "insert";
    text = `${verb} into "${table}" (${names}) values ${tuples.join(",")}`;
    statements.set(key, text);
  }
  return text;
}

function largestPowerOfTwo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}
