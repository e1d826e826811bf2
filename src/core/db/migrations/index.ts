import type { Migration, MigrationProvider } from "kysely";
import * as m0001 from "./0001-traces.ts";
import * as m0003 from "./0003-audit.ts";
import * as m0004 from "./0004-auth.ts";
import * as m0005 from "./0005-trace-project-indexes.ts";
import * as m0006 from "./0006-drop-trace-started-at-index.ts";
import * as m0007 from "./0007-drop-audit-created-at-index.ts";

/**
 * Keel's one migration set, in order. Append new files here; never edit a shipped one.
 * Each runs unchanged on SQLite and PostgreSQL.
 */
const migrations: Record<string, Migration> = {
  "0001-traces": m0001,
  "0003-audit": m0003,
  "0004-auth": m0004,
  "0005-trace-project-indexes": m0005,
  "0006-drop-trace-started-at-index": m0006,
  "0007-drop-audit-created-at-index": m0007,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
