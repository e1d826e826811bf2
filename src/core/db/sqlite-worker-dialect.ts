import { Worker } from "node:worker_threads";
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from "kysely";
import type {
  SqliteFailure,
  SqliteParam,
  SqliteReady,
  SqliteRequest,
  SqliteResponse,
  SqliteResult,
  SqliteRows,
  SqliteWorkerOptions,
} from "./sqlite-worker-protocol.ts";
import { stepsOf } from "./steps.ts";

/**
 * Kysely on `node:sqlite`, with the connection on a worker thread of its own. SQLite's API is
 * synchronous: on the main thread every trace batch and audit append would stall the requests
 * in flight for as long as SQLite takes (milliseconds for a batch with bodies). Here the main
 * thread only compiles the query and posts it; the worker runs it. Keel needs no native addon.
 *
 * One connection, as SQLite has: Kysely's callers take turns (transactions hold it until they
 * end). The worker keeps the process alive only while a query is in flight.
 */
export class SqliteWorkerDialect implements Dialect {
  readonly #options: SqliteWorkerOptions;

  constructor(options: SqliteWorkerOptions) {
    this.#options = options;
  }

  createDriver(): Driver {
    return new SqliteWorkerDriver(this.#options);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

class SqliteWorkerDriver implements Driver {
  readonly #options: SqliteWorkerOptions;
  #client: WorkerClient | undefined;
  #connection: SqliteWorkerConnection | undefined;
  readonly #mutex = new Mutex();

  constructor(options: SqliteWorkerOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    this.#client = await WorkerClient.start(this.#options);
    this.#connection = new SqliteWorkerConnection(this.#client);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return this.#connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async destroy(): Promise<void> {
    await this.#client?.close();
  }
}

/** Rows fetched per round trip when a query is streamed. */
const DEFAULT_STREAM_CHUNK = 100;

class SqliteWorkerConnection implements DatabaseConnection {
  readonly #client: WorkerClient;

  constructor(client: WorkerClient) {
    this.#client = client;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const steps = stepsOf(compiled);
    if (steps !== undefined) {
      const result = await this.#client.call({
        op: "steps",
        steps: steps.map((step) => ({ sql: step.sql, params: toSqlite(step.parameters) })),
      });
      const results = "results" in result ? result.results : [];
      return { rows: results.map((r) => toQueryResult(r)) as R[] };
    }
    const result = await this.#client.call({
      op: "exec",
      sql: compiled.sql,
      params: toSqlite(compiled.parameters),
    });
    return toQueryResult<R>(result);
  }

  async *streamQuery<R>(
    compiled: CompiledQuery,
    chunkSize = DEFAULT_STREAM_CHUNK,
  ): AsyncIterableIterator<QueryResult<R>> {
    const opened = await this.#client.call({
      op: "open-cursor",
      sql: compiled.sql,
      params: toSqlite(compiled.parameters),
    });
    const cursor = (opened as { cursor: number }).cursor;
    let done = false;
    try {
      while (!done) {
        const page = (await this.#client.call({ op: "next", cursor, size: chunkSize })) as {
          rows: SqliteRows;
          done: boolean;
        };
        done = page.done;
        for (const row of page.rows) yield { rows: [row as R] };
      }
    } finally {
      if (!done) await this.#client.call({ op: "close-cursor", cursor });
    }
  }
}

type Call = SqliteRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, "id">
    : never
  : never;

/** The worker and the requests awaiting its answers, matched by id. */
class WorkerClient {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (result: SqliteResult) => void; reject: (err: Error) => void }
  >();
  #nextId = 1;
  #exited: Error | undefined;
  #closing = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (response: SqliteResponse) => this.#settle(response));
    worker.on("error", (err: Error) => this.#fail(err));
    worker.on("exit", (code) => this.#fail(new Error(`the SQLite worker exited (code ${code})`)));
  }

  static start(options: SqliteWorkerOptions): Promise<WorkerClient> {
    // In a checkout the sources run as .ts; the built package ships .js.
    const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
    const worker = new Worker(new URL(`./sqlite-worker${ext}`, import.meta.url), {
      workerData: options,
      // The worker inherits the process's flags, but it is a file: a flag for evaluated input
      // (`node --input-type=module -e …`) would refuse to start it.
      ...(process.execArgv.some(isInputType)
        ? { execArgv: process.execArgv.filter((arg) => !isInputType(arg)) }
        : {}),
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) =>
        reject(new Error(`the SQLite worker exited while opening (code ${code})`));
      worker.once("error", reject);
      worker.once("exit", onExit);
      worker.once("message", (ready: SqliteReady) => {
        worker.off("error", reject);
        worker.off("exit", onExit);
        if (!ready.ready) {
          reject(toError(ready.error));
          return;
        }
        worker.unref();
        resolve(new WorkerClient(worker));
      });
    });
  }

  call(request: Call): Promise<SqliteResult> {
    if (this.#exited !== undefined) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id });
    });
  }

  async close(): Promise<void> {
    if (this.#exited !== undefined) return;
    // Held until the worker is gone: an unreferenced worker would let the process end here.
    this.#closing = true;
    this.#worker.ref();
    const exited = new Promise<void>((resolve) => this.#worker.once("exit", () => resolve()));
    await this.call({ op: "close" });
    await exited;
  }

  #settle(response: SqliteResponse): void {
    const waiter = this.#pending.get(response.id);
    if (waiter === undefined) return;
    this.#pending.delete(response.id);
    if (this.#pending.size === 0 && !this.#closing) this.#worker.unref();
    if (response.ok) waiter.resolve(response.result);
    else waiter.reject(toError(response.error));
  }

  #fail(err: Error): void {
    this.#exited ??= err;
    for (const waiter of this.#pending.values()) waiter.reject(err);
    this.#pending.clear();
  }
}

const isInputType = (arg: string): boolean => arg.startsWith("--input-type");

/** node:sqlite's error, rebuilt on this side of the thread boundary (code, errcode, errstr). */
function toError(failure: SqliteFailure): Error {
  const { message, ...fields } = failure;
  return Object.assign(new Error(message), fields);
}

function toQueryResult<R>(result: SqliteResult): QueryResult<R> {
  if ("changes" in result) {
    return {
      numAffectedRows: BigInt(result.changes),
      insertId: BigInt(result.lastInsertRowid),
      rows: [],
    };
  }
  return { rows: ("rows" in result ? result.rows : []) as R[] };
}

function toSqlite(parameters: readonly unknown[]): SqliteParam[] {
  return parameters.map((value) => {
    if (value === undefined || value === null) return null;
    if (typeof value === "boolean") return value ? 1 : 0;
    if (value instanceof Date) return value.getTime();
    return value as SqliteParam;
  });
}

/** Hands SQLite's one connection to one caller at a time, in arrival order. */
class Mutex {
  #locked = false;
  readonly #waiting: (() => void)[] = [];

  lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  unlock(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#locked = false;
    else next();
  }
}
