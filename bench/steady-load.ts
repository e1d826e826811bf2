import { Pool } from "undici";

/**
 * A closed-loop load generator for long runs that keeps every request's outcome, so a run can be
 * cut into time slices afterwards (req/s and p99 per slice), and reports its count while it
 * runs. bench/load.ts gives one figure for a whole run of one request body; this one mixes
 * bodies (`bodyFor(i)` picks the i-th request's) over one pool of keep-alive connections that
 * lives for the whole run, so slice boundaries do not reconnect. Bounded by time and by count,
 * stopped early by `signal`; only ever aimed at loopback servers the benchmark started.
 */
export interface SteadyLoadOptions {
  url: string;
  path: string;
  authorization: string;
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  bodyFor(i: number): string;
  signal?: AbortSignal;
}

export interface SteadyLoadRecords {
  /** Per finished request, in completion order: ms from the run's start to its last byte. */
  endedAt: number[];
  latencyMs: number[];
  ok: boolean[];
}

export interface SteadyLoad {
  /** Requests finished so far, failed ones included. */
  finished(): number;
  done: Promise<SteadyLoadRecords>;
}

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const pool = new Pool(new URL(options.url).origin, {
    connections: options.concurrency,
    pipelining: 1,
  });
  const records: SteadyLoadRecords = { endedAt: [], latencyMs: [], ok: [] };
  const t0 = performance.now();
  const deadline = t0 + options.durationMs;
  let started = 0;
  const going = () =>
    started < options.maxRequests && performance.now() < deadline && !options.signal?.aborted;

  const worker = async () => {
    while (going()) {
      const i = started++;
      const begin = performance.now();
      let ok = false;
      try {
        const res = await pool.request({
          path: options.path,
          method: "POST",
          headers: { "content-type": "application/json", authorization: options.authorization },
          body: options.bodyFor(i),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        for await (const _chunk of res.body) {
          // drain
        }
        ok = res.statusCode === 200;
      } catch {
        ok = false;
      }
      const end = performance.now();
      records.endedAt.push(end - t0);
      records.latencyMs.push(end - begin);
      records.ok.push(ok);
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(async () => {
    await pool.close();
    return records;
  });
  return { finished: () => records.ok.length, done };
}
