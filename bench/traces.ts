import type { Engine } from "../src/core/db/database.ts";
import { idTime } from "../src/core/ids.ts";
import { encodeCursor, traceListQuerySchema } from "../src/traces/index.ts";
import { createTraceService, type TraceService } from "../src/traces/service.ts";
import { insertTraces } from "../src/traces/store.ts";
import type { Kysely } from "kysely";
import { tracesSchema } from "../src/core/config-schema.ts";
import type { Database } from "../src/core/db/tables.ts";
import { createLogger } from "../src/core/logger.ts";
import { createTracePruner, type PruneResult } from "../src/traces/retention.ts";
import { openBenchDatabase } from "./bench-database.ts";
import { progressBar, progressNote } from "./progress.ts";
import { seededRandom } from "../src/core/random.ts";
import { modelShares, syntheticTraces } from "./synthetic-traces.ts";
import { percentile, printTable } from "./table.ts";
import { flag, intFlag } from "./args.ts";

/**
 * `npm run bench -- traces [--rows 1000000] [--engine sqlite|postgres] [--batch 500]`
 *
 * How the traces table holds up as it grows. Fills a fresh database (SQLite in a temp dir, or
 * a schema of its own in KEEL_TEST_DATABASE_URL's PostgreSQL, dropped afterwards) with
 * synthetic traces through the real store (`insertTraces`, one batch per call as the trace
 * writer does), spread over 30 days: six models, twenty projects, 4% errors, ~1 KB of bodies.
 * At each checkpoint (10k, 100k, 1M rows… and the final size) it times what the traces API
 * runs, through the same service `GET /api/traces` and `GET /api/traces/:id` call: the first
 * page, each filter, a time window, a page 90% deep by cursor and one trace by id, plus the
 * insert batches just before the checkpoint. The table gives p50/p99 per query and size, and
 * the ratio to the smallest checkpoint, the baseline measured in the same run: a ratio near
 * 1× at 100× the rows says the query is served by an index and does not grow with the table.
 * Then the table's size on disk and the insert rate at each checkpoint, and last the
 * retention pruner (`traces.retention.max_age_days: 20`) deleting the oldest third, in its
 * batches of 1,000, with the first page's latency measured while it runs.
 *
 * The default fills 1,000,000 rows: about 2.2 GB of SQLite under the temp dir (or 2 GB of
 * PostgreSQL), one to two minutes on two cores. `--rows` picks another size, from 1,000 to
 * 10,000,000 (checkpoints are the powers of ten from 10k below it, then the size itself).
 * Ctrl-C stops the fill, prints what was measured so far and deletes the database.
 */
const DAY_MS = 86_400_000;
const SPAN_MS = 30 * DAY_MS;
const PAGE = "50";
/** Per query and checkpoint: a few unmeasured runs, then this many timed, or this long. */
const WARM_UP = 5;
const MAX_SAMPLES = 300;
const MAX_MS = 2_000;
const MIN_ROWS = 1_000;
const MAX_ROWS = 10_000_000;

interface Query {
  name: string;
  /** One call of the service, varied by `i` where a real client would vary it. */
  call(i: number): Promise<unknown>;
}

interface Measured {
  rows: number;
  query: string;
  latencies: number[];
}

interface Storage {
  rows: number;
  bytes: number;
  insertRowsPerSecond: number;
}

/** 10k, 100k, 1M… below `rows`, then `rows` itself. */
function checkpointsFor(rows: number): number[] {
  const points: number[] = [];
  for (let n = 10_000; n < rows; n *= 10) points.push(n);
  points.push(rows);
  return points;
}

export async function run(args: string[]): Promise<void> {
  const rows = intFlag(args, "--rows", 1_000_000, MIN_ROWS, MAX_ROWS);
  const batch = intFlag(args, "--batch", 500, 1, 5_000);
  const engine = flag(args, "--engine") ?? "sqlite";
  if (engine !== "sqlite" && engine !== "postgres") {
    throw new Error(`--engine: expected sqlite or postgres, got "${engine}"`);
  }
  const database = await openBenchDatabase(engine, process.env.KEEL_TEST_DATABASE_URL);
  process.stderr.write(
    `traces bench: ${rows.toLocaleString("en-US")} rows, ${engine} at ${database.location}\n`,
  );
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    process.stderr.write("\ninterrupted: stopping after this batch\n");
  };
  process.once("SIGINT", onInterrupt);

  const measured: Measured[] = [];
  const storage: Storage[] = [];
  let pruning: PruneMeasure | undefined;
  try {
    const source = syntheticTraces({ total: rows, spanMs: SPAN_MS });
    const service = createTraceService(database.db);
    const random = seededRandom(7);
    const sampledIds: string[] = [];
    let filled = 0;
    for (const checkpoint of checkpointsFor(rows)) {
      const bar = progressBar(`filling ${engine}`, checkpoint, "rows", filled);
      // Insert batches in the last tenth before the checkpoint (at least 20 of them, as far
      // back as the previous checkpoint): the insert rate at this size.
      const tail: number[] = [];
      let tailRows = 0;
      const tailFrom = Math.max(
        filled,
        checkpoint - Math.max(20 * batch, (checkpoint - filled) / 10),
      );
      while (filled < checkpoint && !interrupted) {
        const chunk = source.next(Math.min(batch, checkpoint - filled));
        for (let i = 0; i < chunk.length; i += 97) sampledIds.push(chunk[i]!.id);
        const t = performance.now();
        await insertTraces(database.db, chunk);
        if (filled >= tailFrom) {
          tail.push(performance.now() - t);
          tailRows += chunk.length;
        }
        filled += chunk.length;
        bar.update(filled);
      }
      bar.finish();
      if (interrupted) break;

      const insertMs = tail.reduce((a, b) => a + b, 0);
      storage.push({
        rows: filled,
        bytes: await database.tracesBytes(),
        insertRowsPerSecond: insertMs > 0 ? (tailRows / insertMs) * 1000 : NaN,
      });
      measured.push({
        rows: filled,
        query: `insert ${batch} rows`,
        latencies: tail.sort((a, b) => a - b),
      });
      const queries = apiQueries(service, sampledIds, random);
      for (const query of queries) {
        if (interrupted) break;
        progressNote(`measuring at ${filled.toLocaleString("en-US")} rows: ${query.name}`);
        measured.push({ rows: filled, query: query.name, latencies: await time(query) });
      }
      progressNote("");
    }
    if (!interrupted) pruning = await measurePrune(database.db, service);
  } finally {
    process.off("SIGINT", onInterrupt);
    await database.dispose();
  }
  if (interrupted) console.log("interrupted: what was measured before Ctrl-C");
  printResults(engine, measured, storage);
  if (pruning !== undefined) printPrune(pruning);
}

interface PruneMeasure {
  result: PruneResult;
  /** First-page latencies while the pruner ran, sorted. */
  during: number[];
}

/** Runs the real pruner over the filled table, timing the first page alongside it. */
async function measurePrune(db: Kysely<Database>, service: TraceService): Promise<PruneMeasure> {
  progressNote("pruning traces older than 20 days");
  const pruner = createTracePruner({
    db,
    config: tracesSchema.parse({ retention: { max_age_days: 20, interval_minutes: 1_440 } }),
    logger: createLogger("silent"),
  });
  const page = traceListQuerySchema.parse({ limit: PAGE });
  const during: number[] = [];
  let done = false;
  const run = pruner.runOnce().finally(() => {
    done = true;
  });
  for (let i = 0; i < MAX_SAMPLES * 100 && !done; i++) {
    const t = performance.now();
    await service.list(page);
    during.push(performance.now() - t);
  }
  const result = await run;
  await pruner.close();
  progressNote("");
  return { result, during: during.sort((a, b) => a - b) };
}

function printPrune({ result, during }: PruneMeasure): void {
  console.log("");
  console.log(
    `retention: ${result.deleted.toLocaleString("en-US")} traces older than 20 days deleted ` +
      `in ${(result.ms / 1000).toFixed(1)} s (${Math.round((result.deleted / Math.max(1, result.ms)) * 1000).toLocaleString("en-US")} rows/s, ` +
      `${result.batches} batches); first page meanwhile: p50 ${percentile(during, 50).toFixed(3)} ms, ` +
      `p99 ${percentile(during, 99).toFixed(3)} ms over ${during.length} samples`,
  );
}

/** Times one query: warm-up runs, then up to MAX_SAMPLES timed runs or MAX_MS, sorted. */
async function time(query: Query): Promise<number[]> {
  for (let i = 0; i < WARM_UP; i++) await query.call(i);
  const latencies: number[] = [];
  const deadline = performance.now() + MAX_MS;
  for (let i = 0; i < MAX_SAMPLES && performance.now() < deadline; i++) {
    const t = performance.now();
    await query.call(i);
    latencies.push(performance.now() - t);
  }
  return latencies.sort((a, b) => a - b);
}

/**
 * What the traces API runs, as the routes call the service: query strings parsed by the API's
 * own schema. Filter values are a rare model (3% of rows), the errors (4%) and a mid-sized
 * project (~5%), so a filter that scanned instead of seeking would show it.
 */
function apiQueries(
  service: TraceService,
  /** Ids of every 97th row so far, oldest first. */
  ids: readonly string[],
  random: () => number,
): Query[] {
  const list = (query: Record<string, string>) => {
    const parsed = traceListQuerySchema.parse({ limit: PAGE, ...query });
    return () => service.list(parsed);
  };
  const rareModel = Object.keys(modelShares).at(-1)!;
  const project = "prj_bench04";
  // A window a quarter of the way back from the newest trace: ids encode receive times.
  const first = idTime(ids[0]!)!;
  const until = Math.floor(first + (idTime(ids.at(-1)!)! - first) * 0.75);
  const pick = (from: number, to: number) =>
    ids[Math.floor((from + random() * (to - from)) * (ids.length - 1))]!;
  return [
    { name: "first page", call: list({}) },
    { name: `model=${rareModel}`, call: list({ model: rareModel }) },
    { name: "status=error", call: list({ status: "error" }) },
    {
      name: "since..until (1 h window)",
      call: list({ since: String(until - 3_600_000), until: String(until) }),
    },
    { name: `project_id=${project}`, call: list({ project_id: project }) },
    {
      name: "project_id + status=error",
      call: list({ project_id: project, status: "error" }),
    },
    {
      name: "cursor page 90% deep",
      call: () =>
        service.list(
          traceListQuerySchema.parse({ limit: PAGE, cursor: encodeCursor(pick(0.05, 0.15)) }),
        ),
    },
    { name: "GET /api/traces/:id", call: () => service.get(pick(0, 1)) },
  ];
}

function printResults(engine: Engine, measured: Measured[], storage: Storage[]): void {
  const baseRows = storage[0]?.rows;
  const base = new Map(measured.filter((m) => m.rows === baseRows).map((m) => [m.query, m]));
  const label = baseRows === undefined ? "" : compact(baseRows);
  const order = [...new Set(measured.map((m) => m.query))];
  const rows: (string | number)[][] = [
    ["query", "rows", "samples", "p50 ms", "p99 ms", `p50 vs ${label}`, `p99 vs ${label}`],
  ];
  for (const query of order) {
    for (const m of measured.filter((x) => x.query === query)) {
      const b = base.get(query);
      const p50 = percentile(m.latencies, 50);
      const p99 = percentile(m.latencies, 99);
      rows.push([
        query,
        compact(m.rows),
        m.latencies.length,
        p50.toFixed(3),
        p99.toFixed(3),
        b === undefined ? "" : ratio(p50, percentile(b.latencies, 50)),
        b === undefined ? "" : ratio(p99, percentile(b.latencies, 99)),
      ]);
    }
  }
  console.log(`traces on ${engine}: latency of the traces API's queries as the table grows`);
  printTable(rows);
  console.log("");
  const sizes: (string | number)[][] = [
    ["rows", "insert rows/s", `vs ${label}`, "size MB", "bytes/row"],
  ];
  const baseRate = storage[0]?.insertRowsPerSecond ?? NaN;
  for (const s of storage) {
    sizes.push([
      compact(s.rows),
      Math.round(s.insertRowsPerSecond).toLocaleString("en-US"),
      ratio(s.insertRowsPerSecond, baseRate),
      (s.bytes / 1e6).toFixed(1),
      Math.round(s.bytes / s.rows),
    ]);
  }
  printTable(sizes);
}

function ratio(value: number, base: number): string {
  return Number.isFinite(value / base) ? `${(value / base).toFixed(2)}×` : "";
}

/** 10000 → "10k", 1000000 → "1M", 25000 → "25k". */
function compact(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}
