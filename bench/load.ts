import { startSteadyLoad } from "./steady-load.ts";
import { percentile } from "./table.ts";

export interface LoadResult {
  /** Requests answered 200; the others are `errors`. */
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

export interface LoadOptions {
  url: string;
  path: string;
  body: string;
  /** The Authorization header sent with every request. */
  authorization: string;
  concurrency: number;
  /** Stops at whichever comes first. */
  durationMs: number;
  maxRequests: number;
}

/**
 * One figure for a whole run of one request body: the closed-loop load of steady-load.ts
 * (`concurrency` workers, each reading the whole response before sending the next), summed
 * up. Latency is request start to last byte, in ms, over the successful requests.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const records = await startSteadyLoad({ ...options, bodyFor: () => options.body }).done;
  const latencies = records.latencyMs.filter((_, i) => records.ok[i]).sort((a, b) => a - b);
  const seconds = Math.max(0, ...records.endedAt) / 1000;
  return {
    requests: latencies.length,
    errors: records.ok.length - latencies.length,
    seconds,
    rps: seconds > 0 ? latencies.length / seconds : 0,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
