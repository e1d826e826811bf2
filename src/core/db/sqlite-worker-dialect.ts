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
export interface SqliteWorkerDialectOptions extends SqliteWorkerOptions {
  /** Told each time a worker thread has been started (the first, and each replacement). */
  onWorker?: (worker: Worker) => void;
  /** Told when a worker exited unasked and a new one is being started in its place. */
  onRestart?: (cause: Error) => void;
}

export class SqliteWorkerDialect implements Dialect {
  readonly #options: SqliteWorkerDialectOptions;

  constructor(options: SqliteWorkerDialectOptions) {
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

/** Replacements are started at most this often; in between, the last failure is answered. */
const RESTART_INTERVAL_MS = 1_000;

/**
 * The worker behind the one connection. A worker that exits unasked (a crash, an out-of-memory
 * kill) fails what it had in flight and is replaced when the connection is next acquired, so
 * the server carries on; a connection already held (a transaction) stays with the worker it
 * began on and fails whole rather than finish its statements on a new one, outside the
 * transaction they belonged to.
 */
class SqliteWorkerDriver implements Driver {
  readonly #options: SqliteWorkerDialectOptions;
  #current: { client: WorkerClient; connection: SqliteWorkerConnection } | undefined;
  #destroyed = false;
  #lastRestart = 0;
  #restartError: Error | undefined;
  readonly #mutex = new Mutex();

  constructor(options: SqliteWorkerDialectOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    this.#current = await this.#start();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    try {
      return (await this.#live()).connection;
    } catch (err) {
      this.#mutex.unlock();
      throw err;
    }
  }

  /** The running worker, or a new one in place of one that has exited. */
  async #live(): Promise<{ client: WorkerClient; connection: SqliteWorkerConnection }> {
    const current = this.#current!;
    const exited = current.client.exitError;
    if (exited === undefined) return current;
    if (this.#destroyed) throw exited;
    if (Date.now() - this.#lastRestart < RESTART_INTERVAL_MS) throw this.#restartError ?? exited;
    this.#lastRestart = Date.now();
    this.#options.onRestart?.(exited);
    try {
      this.#current = await this.#start();
      this.#restartError = undefined;
      return this.#current;
    } catch (err) {
      this.#restartError = err as Error;
      throw err;
    }
  }

  async #start(): Promise<{ client: WorkerClient; connection: SqliteWorkerConnection }> {
    const { onWorker, onRestart: _, ...options } = this.#options;
    const client = await WorkerClient.start(options, onWorker);
    return { client, connection: new SqliteWorkerConnection(client) };
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
    this.#destroyed = true;
    await this.#current?.client.close();
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

  /** Why the worker is gone, once it has exited; undefined while it runs. */
  get exitError(): Error | undefined {
    return this.#exited;
  }

  static start(
    options: SqliteWorkerOptions,
    onWorker?: (worker: Worker) => void,
  ): Promise<WorkerClient> {
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
    onWorker?.(worker);
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
