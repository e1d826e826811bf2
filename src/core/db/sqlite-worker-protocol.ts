/**
 * Messages between the SQLite worker dialect (main thread) and its worker thread. Types
 * only: the worker imports nothing else from Keel.
 */
export interface SqliteWorkerOptions {
  /** A file path or ":memory:". */
  location: string;
  busyTimeoutMs: number;
  /** Run once after opening, in order (`journal_mode = WAL`, …). */
  pragmas: readonly string[];
}

export type SqliteParam = null | number | bigint | string | Uint8Array;

export interface SqliteStep {
  sql: string;
  params: SqliteParam[];
}

export type SqliteRequest =
  | { id: number; op: "exec"; sql: string; params: SqliteParam[] }
  /**
   * Statements run in order in one round trip; the first failure stops them and fails the
   * message, after rolling back the transaction it leaves open, if any.
   */
  | { id: number; op: "steps"; steps: SqliteStep[] }
  | { id: number; op: "open-cursor"; sql: string; params: SqliteParam[] }
  | { id: number; op: "next"; cursor: number; size: number }
  | { id: number; op: "close-cursor"; cursor: number }
  | { id: number; op: "close" };

export type SqliteRows = Record<string, unknown>[];

export type SqliteResult =
  | { rows: SqliteRows }
  | { changes: number | bigint; lastInsertRowid: number | bigint }
  | { cursor: number }
  | { rows: SqliteRows; done: boolean }
  | { results: SqliteResult[] }
  | Record<string, never>;

export interface SqliteFailure {
  message: string;
  /** node:sqlite's `ERR_SQLITE_ERROR` and SQLite's extended result code and text. */
  code?: string;
  errcode?: number;
  errstr?: string;
}

export type SqliteResponse =
  { id: number; ok: true; result: SqliteResult } | { id: number; ok: false; error: SqliteFailure };

/** The worker's first message: the database is open, or why it could not be. */
export type SqliteReady = { ready: true } | { ready: false; error: SqliteFailure };
