import { generateKey } from "../src/auth/index.ts";
import { startChildServer as startServer, stopChildServer as stopServer } from "./child-server.ts";
import { runLoad, type LoadResult } from "./load.ts";
import { processCpuMicros, type CpuMicros } from "./process-cpu.ts";
import { printTable } from "./table.ts";
import { flag } from "./args.ts";

/**
 * `npm run bench -- gateway [--seconds S] [--concurrency 1,16,64] [--modes json,stream]
 *                           [--keel-node-options "…"] [--keel-config JSON]`
 *
 * Throughput and p50/p99 latency at several concurrencies, streaming and not, for (a) the fake
 * upstream called directly, (b) a minimal Node reverse proxy in front of it, (c) Keel in front
 * of it with tracing on (bodies stored), API keys checked and a log line per request. Targets:
 * Keel adds ≤ 1 ms p50 over direct, and reaches ≥ 70% of the minimal proxy's throughput at
 * concurrency 64. `main µs/req` is the CPU time the server under test's main thread spent per
 * request, `cpu µs/req` that of all its threads (Linux only): the cost that decides
 * throughput, and steadier than req/s on a busy machine.
 *
 * `--keel-node-options` passes Node flags to the Keel process only, to profile it under this
 * load: `--keel-node-options "--cpu-prof --cpu-prof-dir=/tmp/keel-prof"`. `--keel-config`
 * merges config sections over the bench's, to measure what a setting costs:
 * `--keel-config '{"auth":{"key_cache_ms":10000}}'`.
 */
function perRequest(
  before: CpuMicros | undefined,
  after: CpuMicros | undefined,
  result: LoadResult,
): CpuMicros | undefined {
  if (before === undefined || after === undefined || result.requests === 0) return undefined;
  return {
    main: (after.main - before.main) / result.requests,
    all: (after.all - before.all) / result.requests,
  };
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(flag(args, "--seconds") ?? "3");
  const levels = (flag(args, "--concurrency") ?? "1,16,64").split(",").map(Number);
  const modes = (flag(args, "--modes") ?? "json,stream").split(",");
  for (const mode of modes) {
    if (mode !== "json" && mode !== "stream") throw new Error(`--modes: unknown mode "${mode}"`);
  }

  const nodeOptions = (flag(args, "--keel-node-options") ?? "").split(/\s+/).filter(Boolean);
  const apiKey = generateKey();

  const upstream = await startServer("upstream");
  const proxy = await startServer("proxy", { upstream: upstream.url });
  const keel = await startServer("keel", {
    upstream: upstream.url,
    nodeOptions,
    env: { KEEL_ADMIN_KEY: apiKey, KEEL_BENCH_CONFIG: flag(args, "--keel-config") ?? "{}" },
  });
  const targets = [
    { name: "direct", url: upstream.url, pid: upstream.child.pid },
    { name: "node-proxy", url: proxy.url, pid: proxy.child.pid },
    { name: "keel", url: keel.url, pid: keel.child.pid },
  ];

  const rows: (string | number)[][] = [
    [
      "mode",
      "conc",
      "target",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "vs proxy",
      "+p50 ms",
      "main µs/req",
      "cpu µs/req",
    ],
  ];
  try {
    for (const stream of modes.map((mode) => mode === "stream")) {
      const body = JSON.stringify({
        model: "bench",
        messages: [{ role: "user", content: "Say hello in five words." }],
        max_tokens: 16,
        ...(stream ? { stream: true } : {}),
      });
      for (const concurrency of levels) {
        const results: Record<string, LoadResult & { cpu: CpuMicros | undefined }> = {};
        for (const target of targets) {
          const common = {
            url: target.url,
            path: "/v1/chat/completions",
            body,
            concurrency,
            // Only Keel checks it; the others ignore it, so every target gets the same request.
            authorization: `Bearer ${apiKey}`,
          };
          await runLoad({ ...common, durationMs: 300, maxRequests: 200 }); // warm-up
          const cpuBefore = processCpuMicros(target.pid);
          const result = await runLoad({
            ...common,
            durationMs: seconds * 1000,
            maxRequests: 200_000,
          });
          const cpuAfter = processCpuMicros(target.pid);
          results[target.name] = { ...result, cpu: perRequest(cpuBefore, cpuAfter, result) };
        }
        for (const target of targets) {
          const r = results[target.name]!;
          const proxyRps = results["node-proxy"]!.rps;
          const directP50 = results.direct!.p50;
          rows.push([
            stream ? "stream" : "json",
            concurrency,
            target.name,
            r.rps.toFixed(0),
            r.p50.toFixed(2),
            r.p99.toFixed(2),
            r.errors,
            target.name === "direct" ? "" : `${((r.rps / proxyRps) * 100).toFixed(0)}%`,
            target.name === "direct" ? "" : (r.p50 - directP50).toFixed(2),
            r.cpu === undefined ? "" : r.cpu.main.toFixed(0),
            r.cpu === undefined ? "" : r.cpu.all.toFixed(0),
          ]);
        }
      }
    }
  } finally {
    await Promise.all([keel, proxy, upstream].map(stopServer));
  }
  printTable(rows);
}
