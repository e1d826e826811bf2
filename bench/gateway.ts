import { generateKey } from "../src/auth/index.ts";
import { startChildServer as startServer, stopChildServer as stopServer } from "./child-server.ts";
import { runLoad, type LoadResult } from "./load.ts";
import { allThreads, processCpuMicros, THREAD_KINDS, type CpuMicros } from "./process-cpu.ts";
import { median, printTable } from "./table.ts";
import { flag } from "./args.ts";

/**
 * `npm run bench -- gateway [--seconds S] [--rounds R] [--warmup S] [--concurrency 1,16,64]
 *                           [--modes json,stream] [--answer-words N] [--relay]
 *                           [--keel-node-options "…"] [--keel-config JSON]`
 *
 * Throughput and p50/p99 latency at several concurrencies, streaming and not, for (a) the fake
 * upstream called directly, (b) a minimal Node reverse proxy in front of it, (c) Keel in front
 * of it with tracing on (bodies stored), API keys checked and a log line per request. `--relay`
 * adds a Fastify + undici relay that parses the JSON both ways and does nothing else: how much
 * of Keel's cost its framework and HTTP client take before any of Keel's own work. Targets:
 * Keel adds ≤ 1 ms p50 over direct, and reaches ≥ 70% of the minimal proxy's throughput at
 * concurrency 64. `main µs/req` is the CPU time the server under test's main thread spent per
 * request, `cpu µs/req` that of all its threads (Linux only): the cost that decides
 * throughput, and steadier than req/s on a busy machine. A second table splits Keel's by
 * thread: the event loop, the SQLite thread (trace and audit writes), V8's GC helpers and
 * libuv's pool (log writes).
 *
 * On a shared machine the speed of the whole box drifts by tens of percent from one minute to
 * the next, so each level is measured in `--rounds` rounds of S seconds per target, the three
 * targets taking turns (in a rotated order each round) so that a slow spell hits all of them.
 * Figures are medians over the rounds; `vs proxy` and `+p50` are computed within each round
 * (Keel against the proxy measured seconds before) and shown as the median with the range.
 * Two processes of the same server running the same code were measured up to ~10% apart in
 * CPU per request, for as long as they lived (where the scheduler put their threads, how the
 * JIT went): a difference that size between two runs of this bench is not a finding.
 *
 * The upstream answers "Hello from bench", three words: a stream is mostly its fixed costs.
 * `--answer-words N` makes every answer N words long (a stream of N content chunks, sent at
 * once), to see what each chunk costs.
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
  return Object.fromEntries(
    THREAD_KINDS.map((kind) => [kind, (after[kind] - before[kind]) / result.requests]),
  ) as CpuMicros;
}

function requestBody(stream: boolean): string {
  return JSON.stringify({
    model: "bench",
    messages: [{ role: "user", content: "Say hello in five words." }],
    max_tokens: 16,
    ...(stream ? { stream: true } : {}),
  });
}

interface Sample extends LoadResult {
  cpu: CpuMicros | undefined;
}

/** `51% (47–55)`: the median of per-round values, with their range when there are several. */
function withRange(values: readonly number[], format: (v: number) => string): string {
  if (values.length < 2) return format(median(values));
  return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(flag(args, "--seconds") ?? "2");
  const warmupSeconds = Number(flag(args, "--warmup") ?? "4");
  const rounds = Number(flag(args, "--rounds") ?? "3");
  const levels = (flag(args, "--concurrency") ?? "1,16,64").split(",").map(Number);
  const modes = (flag(args, "--modes") ?? "json,stream").split(",");
  for (const mode of modes) {
    if (mode !== "json" && mode !== "stream") throw new Error(`--modes: unknown mode "${mode}"`);
  }
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds: a whole number ≥ 1");
  if (!(warmupSeconds >= 0)) throw new Error("--warmup: seconds, 0 or more");
  const answerWords = Number(flag(args, "--answer-words") ?? "0");
  if (!Number.isInteger(answerWords) || answerWords < 0) {
    throw new Error("--answer-words: a whole number, 0 for the upstream's own three");
  }

  const nodeOptions = (flag(args, "--keel-node-options") ?? "").split(/\s+/).filter(Boolean);
  const apiKey = generateKey();

  const upstream = await startServer("upstream", {
    env: { KEEL_BENCH_ANSWER_WORDS: String(answerWords) },
  });
  const proxy = await startServer("proxy", { upstream: upstream.url });
  const relay = args.includes("--relay")
    ? await startServer("relay", { upstream: upstream.url })
    : undefined;
  const keel = await startServer("keel", {
    upstream: upstream.url,
    nodeOptions,
    env: { KEEL_ADMIN_KEY: apiKey, KEEL_BENCH_CONFIG: flag(args, "--keel-config") ?? "{}" },
  });
  const targets = [
    { name: "direct", url: upstream.url, pid: upstream.child.pid },
    { name: "node-proxy", url: proxy.url, pid: proxy.child.pid },
    ...(relay === undefined
      ? []
      : [{ name: "fastify-relay", url: relay.url, pid: relay.child.pid }]),
    { name: "keel", url: keel.url, pid: keel.child.pid },
  ];

  // Where Keel's CPU goes, thread by thread: its SQLite writes run on a worker thread.
  const threadRows: (string | number)[][] = [
    ["mode", "conc", "main", "sqlite thread", "gc helpers", "libuv pool", "other", "all"],
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
    // A new process's heap keeps growing for seconds under load, collecting often meanwhile:
    // Keel's first seconds cost up to twice its steady CPU per request. Every target gets
    // `--warmup` seconds of each body first, so the rounds measure servers that have settled.
    for (const target of targets) {
      for (const stream of modes.map((mode) => mode === "stream")) {
        await runLoad({
          url: target.url,
          path: "/v1/chat/completions",
          body: requestBody(stream),
          concurrency: 64,
          authorization: `Bearer ${apiKey}`,
          durationMs: (warmupSeconds * 1000) / modes.length,
          maxRequests: 1_000_000,
        });
      }
    }
    for (const stream of modes.map((mode) => mode === "stream")) {
      const body = requestBody(stream);
      for (const concurrency of levels) {
        const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
        for (let round = 0; round < rounds; round++) {
          for (let i = 0; i < targets.length; i++) {
            const target = targets[(i + round) % targets.length]!;
            const common = {
              url: target.url,
              path: "/v1/chat/completions",
              body,
              concurrency,
              // Only Keel checks it; the others ignore it, so every target gets the same request.
              authorization: `Bearer ${apiKey}`,
            };
            if (round === 0) await runLoad({ ...common, durationMs: 300, maxRequests: 200 });
            const cpuBefore = processCpuMicros(target.pid);
            const result = await runLoad({
              ...common,
              durationMs: seconds * 1000,
              maxRequests: 200_000,
            });
            const cpuAfter = processCpuMicros(target.pid);
            samples.get(target.name)!.push({
              ...result,
              cpu: perRequest(cpuBefore, cpuAfter, result),
            });
          }
        }
        const direct = samples.get("direct")!;
        const proxied = samples.get("node-proxy")!;
        for (const target of targets) {
          const runs = samples.get(target.name)!;
          const cpu = runs.map((r) => r.cpu).filter((c) => c !== undefined);
          const vsProxy = runs.map((r, i) => (r.rps / proxied[i]!.rps) * 100);
          const addedP50 = runs.map((r, i) => r.p50 - direct[i]!.p50);
          const isDirect = target.name === "direct";
          rows.push([
            stream ? "stream" : "json",
            concurrency,
            target.name,
            median(runs.map((r) => r.rps)).toFixed(0),
            median(runs.map((r) => r.p50)).toFixed(2),
            median(runs.map((r) => r.p99)).toFixed(2),
            runs.reduce((sum, r) => sum + r.errors, 0),
            isDirect ? "" : withRange(vsProxy, (v) => `${v.toFixed(0)}%`),
            isDirect ? "" : withRange(addedP50, (v) => v.toFixed(2)),
            cpu.length === 0 ? "" : median(cpu.map((c) => c.main)).toFixed(0),
            cpu.length === 0 ? "" : median(cpu.map(allThreads)).toFixed(0),
          ]);
          if (target.name === "keel" && cpu.length > 0) {
            threadRows.push([
              stream ? "stream" : "json",
              concurrency,
              ...THREAD_KINDS.map((kind) => median(cpu.map((c) => c[kind])).toFixed(1)),
              median(cpu.map(allThreads)).toFixed(1),
            ]);
          }
        }
      }
    }
  } finally {
    await Promise.all(
      [keel, relay, proxy, upstream].filter((s) => s !== undefined).map(stopServer),
    );
  }
  printTable(rows);
  if (threadRows.length > 1) {
    console.log("\nKeel's CPU per request by thread (µs, medians over the rounds):");
    printTable(threadRows);
  }
}
