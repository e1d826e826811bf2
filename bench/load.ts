import { Pool } from "undici";
import { percentile } from "./table.ts";

export interface LoadResult {
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
 * A closed-loop load generator: `concurrency` workers each send a request, read the whole
 * response (streams included) and send the next. Latency is request start to last byte, in ms.
 * Bounded by time and by count; only ever aimed at loopback servers this bench started.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const origin = new URL(options.url).origin;
  const pool = new Pool(origin, { connections: options.concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let started = 0;
  const deadline = performance.now() + options.durationMs;
  const t0 = performance.now();

  const worker = async () => {
    while (started < options.maxRequests && performance.now() < deadline) {
      started++;
      const begin = performance.now();
      try {
        const res = await pool.request({
          path: options.path,
          method: "POST",
          headers: { "content-type": "application/json", authorization: options.authorization },
          body: options.body,
        });
        for await (const _chunk of res.body) {
          // drain
        }
        if (res.statusCode !== 200) errors++;
        else latencies.push(performance.now() - begin);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
