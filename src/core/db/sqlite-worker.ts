/**
 * The thread that owns Keel's SQLite connection (see sqlite-worker-dialect.ts). It runs one
 * statement per message, in arrival order, and keeps prepared statements by SQL text.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import type {
  SqliteFailure,
  SqliteParam,
  SqliteReady,
  SqliteRequest,
  SqliteResponse,
  SqliteResult,
  SqliteWorkerOptions,
} from "./sqlite-worker-protocol.ts";

/** Prepared statements kept by SQL text; the oldest goes first beyond this. */
const STATEMENT_CACHE_SIZE = 100;

const port = parentPort!;
const options = workerData as SqliteWorkerOptions;

function failure(err: unknown): SqliteFailure {
  const e = err as { message?: unknown; code?: unknown; errcode?: unknown; errstr?: unknown };
  return {
    message: typeof e.message === "string" ? e.message : String(err),
    ...(typeof e.code === "string" ? { code: e.code } : {}),
    ...(typeof e.errcode === "number" ? { errcode: e.errcode } : {}),
    ...(typeof e.errstr === "string" ? { errstr: e.errstr } : {}),
  };
}

let database: DatabaseSync;
try {
  database = new DatabaseSync(options.location, { timeout: options.busyTimeoutMs });
  for (const pragma of options.pragmas) database.exec(`PRAGMA ${pragma}`);
  port.postMessage({ ready: true } satisfies SqliteReady);
} catch (err) {
  port.postMessage({ ready: false, error: failure(err) } satisfies SqliteReady);
  process.exit(0);
}

const statements = new Map<string, StatementSync>();
const cursors = new Map<number, Iterator<unknown>>();
let nextCursor = 1;

function prepared(sql: string): StatementSync {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = database.prepare(sql);
    if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
    statements.set(sql, statement);
  }
  return statement;
}

function exec(sql: string, params: SqliteParam[]): SqliteResult {
  const statement = prepared(sql);
  // A statement returns rows when it has result columns (SELECT, or anything with RETURNING).
  if (statement.columns().length > 0) return { rows: statement.all(...params) };
  const { changes, lastInsertRowid } = statement.run(...params);
  return { changes, lastInsertRowid };
}

function handle(request: SqliteRequest): SqliteResult {
  switch (request.op) {
    case "exec":
      return exec(request.sql, request.params);
    case "steps": {
      const results: SqliteResult[] = [];
      try {
        for (const step of request.steps) results.push(exec(step.sql, step.params));
      } catch (err) {
        // Never leave a transaction open behind a failed message: the next message may be
        // another caller's.
        if (database.isTransaction) database.exec("ROLLBACK");
        throw err;
      }
      return { results };
    }
    case "open-cursor": {
      // A cursor gets a statement of its own: one left unfinished never disturbs the cached one.
      const cursor = nextCursor++;
      cursors.set(cursor, database.prepare(request.sql).iterate(...request.params));
      return { cursor };
    }
    case "next": {
      const iterator = cursors.get(request.cursor);
      const rows: Record<string, unknown>[] = [];
      let done = iterator === undefined;
      while (!done && rows.length < request.size) {
        const step = iterator!.next();
        if (step.done === true) done = true;
        else rows.push(step.value as Record<string, unknown>);
      }
      if (done) cursors.delete(request.cursor);
      return { rows, done };
    }
    case "close-cursor": {
      cursors.get(request.cursor)?.return?.();
      cursors.delete(request.cursor);
      return {};
    }
    case "close": {
      cursors.clear();
      statements.clear();
      database.close();
      return {};
    }
  }
}

port.on("message", (request: SqliteRequest) => {
  let response: SqliteResponse;
  try {
    response = { id: request.id, ok: true, result: handle(request) };
  } catch (err) {
    response = { id: request.id, ok: false, error: failure(err) };
  }
  port.postMessage(response);
  if (request.op === "close") port.close();
});
