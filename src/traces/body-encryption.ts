import type { Config } from "../core/config.ts";
import { isCiphertext } from "../core/crypto.ts";
import type { TracesTable } from "../core/db/tables.ts";
import { KeelError } from "../core/errors.ts";
import type { EncryptedColumn } from "../core/key-rotation.ts";
import type { Keyring } from "../core/keyring.ts";
import type { TraceRecord } from "./schema.ts";
import { toRow } from "./trace-rows.ts";

/**
 * Trace bodies at rest. With `traces.encrypt: true` the request and response bodies are stored
 * as AES-256-GCM ciphertexts bound to (traces, column, trace id); without it they are plain
 * JSON. Reads accept both, so a table where encryption was switched on later reads whole.
 */

type BodyColumn = "request_body" | "response_body";

const BODY_COLUMNS: readonly BodyColumn[] = ["request_body", "response_body"];

/**
 * The trace body columns, for a master-key rotation. Rows written before encryption was
 * switched on hold plain JSON: the rotation leaves those as they are.
 */
export const traceBodyColumns: readonly EncryptedColumn[] = BODY_COLUMNS.map((column) => ({
  table: "traces",
  idColumn: "id",
  column,
  plaintextAllowed: true,
}));

/** A record as stored: serialized, and its bodies sealed when `traces.encrypt` is on. */
export function toStoredRow(
  record: TraceRecord,
  config: Pick<Config["traces"], "bodies" | "encrypt">,
  keyring: Keyring | undefined,
): TracesTable {
  const row = toRow(record, config.bodies);
  if (!config.encrypt) return row;
  if (keyring === undefined) {
    throw new KeelError(
      "config_invalid",
      "traces.encrypt is on but the trace writer was given no master keyring",
    );
  }
  for (const column of BODY_COLUMNS) {
    const text = row[column];
    if (text !== null) row[column] = keyring.encrypt(text, { table: "traces", column, id: row.id });
  }
  return row;
}

/** The row with its bodies as plain JSON text again (plain rows pass through untouched). */
export function openTraceBodies(row: TracesTable, keyring: Keyring | undefined): TracesTable {
  const opened = { ...row };
  for (const column of BODY_COLUMNS) {
    const text = row[column];
    if (text === null || !isCiphertext(text)) continue;
    if (keyring === undefined) {
      throw new KeelError(
        "config_invalid",
        `trace ${row.id} has an encrypted ${column} but no master keyring was loaded`,
      );
    }
    opened[column] = keyring.decrypt(text, { table: "traces", column, id: row.id });
  }
  return opened;
}
