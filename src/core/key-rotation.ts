import { sql, type Kysely, type Transaction } from "kysely";
import { CIPHERTEXT_VERSION, isCiphertext, type CipherContext } from "./crypto.ts";
import type { Database } from "./db/tables.ts";
import { KeelError } from "./errors.ts";
import type { Keyring } from "./keyring.ts";

/**
 * Re-encrypts every encrypted column under the keyring's primary key. Rows are walked in id
 * order in batches; each batch and the progress record commit in one transaction, so a run
 * that is interrupted (crash, Ctrl-C, an error) resumes after the last committed batch and
 * never loses or half-writes a row. Rows already under the new key are skipped: the key id is
 * in the ciphertext. The old key must stay in the keyring until the run returns.
 *
 * Every write is a compare-and-set on the old ciphertext, so a value a running server
 * rewrites meanwhile is never overwritten with stale content.
 */

/** A column that holds ciphertexts: the registry of these is what a rotation walks. */
export interface EncryptedColumn {
  table: string;
  /** The row id column; it is part of each value's associated data. */
  idColumn: string;
  column: string;
  /**
   * The column may also hold plain values written before encryption was switched on (trace
   * bodies): a rotation leaves those as they are instead of refusing them.
   */
  plaintextAllowed?: boolean;
}

export interface RotationProgress {
  target_key_id: string;
  /** The column list this progress indexes into (`table.id_column.column`, comma-joined). */
  columns: string;
  /** Index into the column list of the column in progress. */
  column_index: number;
  /** Last row id done in that column; null before its first batch. */
  cursor: string | null;
  rotated: number;
  skipped: number;
  started_at: number;
  completed_at: number | null;
}

export interface RotateMasterKeyOptions {
  db: Kysely<Database>;
  /** Its primary key is the target; it must also hold every key values are sealed with now. */
  keyring: Keyring;
  columns: readonly EncryptedColumn[];
  batchSize?: number;
  /** Called after each committed batch (progress reporting). */
  onBatch?: (progress: Readonly<RotationProgress>) => void | Promise<void>;
  /**
   * Stops the run after the batch in progress commits (Ctrl-C, a row budget): the result
   * says `complete: false` and the next run resumes there.
   */
  signal?: AbortSignal;
  now?: () => number;
}

export interface RotationResult {
  keyId: string;
  rotated: number;
  skipped: number;
  /** Whether this run continued an interrupted one. */
  resumed: boolean;
  /** False when `signal` stopped the run before every column was done. */
  complete: boolean;
}

export const ROTATION_META_KEY = "master_key_rotation";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_CAS_ATTEMPTS = 3;

export async function rotateMasterKey(options: RotateMasterKeyOptions): Promise<RotationResult> {
  const { db, keyring, columns } = options;
  const batchSize = options.batchSize ?? 200;
  const now = options.now ?? Date.now;
  for (const column of columns) checkIdentifiers(column);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new KeelError("invalid_request", "batchSize must be a positive integer");
  }

  const columnList = columns.map((c) => `${c.table}.${c.idColumn}.${c.column}`).join(",");
  const saved = await readProgress(db);
  const resumed =
    saved !== undefined &&
    saved.target_key_id === keyring.primaryId &&
    saved.columns === columnList &&
    saved.completed_at === null;
  let progress: RotationProgress = resumed
    ? saved
    : {
        target_key_id: keyring.primaryId,
        columns: columnList,
        column_index: 0,
        cursor: null,
        rotated: 0,
        skipped: 0,
        started_at: now(),
        completed_at: null,
      };

  while (progress.column_index < columns.length) {
    if (options.signal?.aborted === true) {
      return { keyId: keyring.primaryId, ...counts(progress), resumed, complete: false };
    }
    const column = columns[progress.column_index]!;
    const { rows, next } = await db.transaction().execute(async (trx) => {
      const page = await readPage(trx, column, progress.cursor, batchSize);
      let rotated = 0;
      let skipped = 0;
      for (const row of page) {
        if (await rotateRow(trx, keyring, column, row)) rotated++;
        else skipped++;
      }
      const last = page.at(-1);
      const done = page.length < batchSize;
      const next: RotationProgress = {
        ...progress,
        column_index: done ? progress.column_index + 1 : progress.column_index,
        cursor: done || last === undefined ? null : last.id,
        rotated: progress.rotated + rotated,
        skipped: progress.skipped + skipped,
      };
      await writeProgress(trx, next, now());
      return { rows: page.length, next };
    });
    progress = next;
    if (rows > 0) await options.onBatch?.(progress);
  }

  progress = { ...progress, completed_at: now() };
  await writeProgress(db, progress, now());
  return { keyId: keyring.primaryId, ...counts(progress), resumed, complete: true };
}

function counts(progress: RotationProgress): { rotated: number; skipped: number } {
  return { rotated: progress.rotated, skipped: progress.skipped };
}

/**
 * How many values a rotation of these columns will look at (sealed values only, where a
 * column also holds plain ones): the total for progress output.
 */
export async function countEncryptedValues(
  db: Kysely<Database>,
  columns: readonly EncryptedColumn[],
): Promise<number> {
  let total = 0;
  for (const column of columns) {
    checkIdentifiers(column);
    const value = sql.ref(column.column);
    const sealed =
      column.plaintextAllowed === true
        ? sql`${value} like ${`${CIPHERTEXT_VERSION}:%`}`
        : sql`1 = 1`;
    const result = await sql<{ n: number | string }>`
      select count(*) as n from ${sql.table(column.table)}
      where ${value} is not null and ${sealed}`.execute(db);
    total += Number(result.rows[0]?.n ?? 0);
  }
  return total;
}

/** The progress record of the last or current rotation, if any. */
export async function readProgress(db: Kysely<Database>): Promise<RotationProgress | undefined> {
  const row = await db
    .selectFrom("keel_meta")
    .select("value")
    .where("key", "=", ROTATION_META_KEY)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  try {
    return JSON.parse(row.value) as RotationProgress;
  } catch {
    // An unreadable record only costs a fresh start: rows already rotated are skipped.
    return undefined;
  }
}

async function writeProgress(
  db: Kysely<Database>,
  progress: RotationProgress,
  at: number,
): Promise<void> {
  const value = JSON.stringify(progress);
  await db
    .insertInto("keel_meta")
    .values({ key: ROTATION_META_KEY, value, updated_at: at })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: at }))
    .execute();
}

interface StoredValue {
  id: string;
  value: string;
}

async function readPage(
  trx: Transaction<Database>,
  column: EncryptedColumn,
  cursor: string | null,
  limit: number,
): Promise<StoredValue[]> {
  const id = sql.ref(column.idColumn);
  const value = sql.ref(column.column);
  const after = cursor === null ? sql`1 = 1` : sql`${id} > ${cursor}`;
  const sealed =
    column.plaintextAllowed === true ? sql`${value} like ${`${CIPHERTEXT_VERSION}:%`}` : sql`1 = 1`;
  const result = await sql<StoredValue>`
    select ${id} as id, ${value} as value from ${sql.table(column.table)}
    where ${value} is not null and ${after} and ${sealed}
    order by ${id} limit ${limit}`.execute(trx);
  return result.rows.map((row) => ({ id: String(row.id), value: row.value }));
}

/** Re-seals one value; false when it was already under the target key. */
async function rotateRow(
  trx: Transaction<Database>,
  keyring: Keyring,
  column: EncryptedColumn,
  row: StoredValue,
): Promise<boolean> {
  const context: CipherContext = { table: column.table, column: column.column, id: row.id };
  let current: string | undefined = row.value;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (current === undefined || !keyring.needsRotation(current)) return false;
    if (!isCiphertext(current) && column.plaintextAllowed === true) return false;
    if (!isCiphertext(current)) {
      throw new KeelError(
        "conflict",
        `${column.table}.${column.column} row ${row.id} holds a value that is not encrypted; ` +
          "only ciphertexts written by Keel can be rotated",
      );
    }
    const sealed = keyring.encrypt(keyring.decrypt(current, context), context);
    const result = await sql`
      update ${sql.table(column.table)} set ${sql.ref(column.column)} = ${sealed}
      where ${sql.ref(column.idColumn)} = ${row.id} and ${sql.ref(column.column)} = ${current}`.execute(
      trx,
    );
    if (Number(result.numAffectedRows ?? 0) === 1) return true;
    // Rewritten meanwhile by a running server: look again at what is there now.
    const fresh = await sql<{ value: string | null }>`
      select ${sql.ref(column.column)} as value from ${sql.table(column.table)}
      where ${sql.ref(column.idColumn)} = ${row.id}`.execute(trx);
    current = fresh.rows[0]?.value ?? undefined;
  }
  throw new KeelError(
    "conflict",
    `${column.table}.${column.column} row ${row.id} kept changing during the rotation; run it again`,
  );
}

function checkIdentifiers(column: EncryptedColumn): void {
  for (const name of [column.table, column.idColumn, column.column]) {
    if (!IDENTIFIER.test(name)) {
      throw new KeelError("invalid_request", `"${name}" is not a valid table or column name`);
    }
  }
}
