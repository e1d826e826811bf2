import { sql, type Kysely } from "kysely";
import type { Engine } from "./database.ts";
import type { Database } from "./tables.ts";

const engines = new WeakMap<Kysely<Database>, Engine>();

/**
 * Which engine a Kysely instance talks to, from how it writes a parameter (`$1` or `?`): the
 * stores are handed a Kysely instance (a transaction or a held connection as often as the
 * database itself), not the `KeelDatabase` that knows its engine.
 */
export function engineOf(db: Kysely<Database>): Engine {
  let engine = engines.get(db);
  if (engine === undefined) {
    engine = sql`select ${1}`.compile(db).sql.includes("$1") ? "postgres" : "sqlite";
    engines.set(db, engine);
  }
  return engine;
}
