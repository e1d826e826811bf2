import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKey } from "../src/auth/index.ts";
import { startChildServer, stopChildServer, type ChildServer } from "./child-server.ts";
import { probedMemory, rssBytes } from "./process-memory.ts";
import { progressNote } from "./progress.ts";
import { sparkline } from "./sparkline.ts";
import { startSteadyLoad, type SteadyLoadRecords } from "./steady-load.ts";
import { percentile, printTable } from "./table.ts";
import { memoryVerdict, type MemorySample } from "./memory-verdict.ts";
import { flag, intFlag } from "./args.ts";

/**
 * `npm run bench -- soak [--seconds 300] [--concurrency 32] [--slices 10]
 *                        [--keel-node-options "…"] [--keel-config JSON]`
 *
 * Keel's memory under sustained load: does it level off or keep growing? Starts the fake
 * upstream and Keel (tracing on, bodies stored, API keys checked, a log line per request, as in
 * the gateway bench) as child processes, drives a steady closed-loop load of chat requests,
 * half JSON and half streamed, each with a different prompt, and samples Keel's RSS (from
 * /proc) and its live V8 heap (heap used after the latest major GC, from bench/memory-probe.ts
 * preloaded into it) every second. Prints one row per time slice (req/s, p99, errors, RSS, RSS
 * change since the first slice after warm-up, live heap; the first slice is the warm-up),
 * sparklines of RSS and live heap over the whole run, and a verdict: RSS growth per 10k
 * requests over the second half, and "stable" or "growing" by the rule in
 * bench/memory-verdict.ts. The baseline is Keel's own memory early in the same run.
 *
 * V8 grows its heap to suit the load for the first minutes, so a 60 s run often ends
 * "growing" with a flat live heap; `--seconds 300` and up tells a plateau from a leak. RSS is
 * Linux only (the probe's figure stands in elsewhere). `--keel-node-options` passes Node flags
 * to Keel (`"--max-old-space-size=128"` makes a leak fail sooner); `--keel-config` merges
 * config sections over the bench's (`'{"traces":{"bodies":"metadata"}}'`).
 */
const MAX_SECONDS = 86_400;
const MAX_REQUESTS = 20_000_000;

/** Half the requests JSON, half streamed; a new prompt each, as real traffic has. */
function bodyFor(i: number): string {
  const stream = i % 2 === 1;
  return JSON.stringify({
    model: "bench",
    messages: [{ role: "user", content: `Summarize support ticket #${i} in five words.` }],
    max_tokens: 16,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

export async function run(args: string[]): Promise<void> {
  const seconds = intFlag(args, "--seconds", 300, 1, MAX_SECONDS);
  const concurrency = intFlag(args, "--concurrency", 32, 1, 1_024);
  const sliceCount = intFlag(args, "--slices", 10, 1, 100);
  if (seconds < sliceCount * 1) {
    throw new Error(`--seconds: at least one second per slice (${sliceCount}) is needed`);
  }
  const nodeOptions = (flag(args, "--keel-node-options") ?? "").split(/\s+/).filter(Boolean);
  const apiKey = generateKey();
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-soak-"));
  const probeFile = join(dir, "memory.json");
  const probe = fileURLToPath(new URL("./memory-probe.ts", import.meta.url));

  const controller = new AbortController();
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    controller.abort();
  };
  process.once("SIGINT", onInterrupt);
  const servers: ChildServer[] = [];
  let keelExit: string | undefined;
  const samples: MemorySample[] = [];
  let records: SteadyLoadRecords;
  let ran = seconds;
  try {
    const upstream = await startChildServer("upstream");
    servers.push(upstream);
    const keel = await startChildServer("keel", {
      upstream: upstream.url,
      nodeOptions: ["--import", probe, ...nodeOptions],
      env: {
        KEEL_ADMIN_KEY: apiKey,
        KEEL_BENCH_CONFIG: flag(args, "--keel-config") ?? "{}",
        KEEL_MEMORY_PROBE_FILE: probeFile,
      },
    });
    servers.push(keel);
    const onKeelExit = (code: number | null, signal: NodeJS.Signals | null) => {
      keelExit = `Keel exited during the soak (${signal ?? `code ${String(code)}`})`;
      controller.abort();
    };
    keel.child.once("exit", onKeelExit);

    const t0 = performance.now();
    const load = startSteadyLoad({
      url: keel.url,
      path: "/v1/chat/completions",
      authorization: `Bearer ${apiKey}`,
      concurrency,
      durationMs: seconds * 1000,
      maxRequests: MAX_REQUESTS,
      bodyFor,
      signal: controller.signal,
    });
    let lastFinished = 0;
    const sample = () => {
      const finished = load.finished();
      const probed = probedMemory(probeFile);
      const rss = rssBytes(keel.child.pid) ?? probed?.rss;
      if (rss === undefined) return;
      const s = (performance.now() - t0) / 1000;
      samples.push({ seconds: s, requests: finished, rss, liveHeap: probed?.liveHeap });
      // Every second on a terminal (in place); every tenth second in a log.
      if (process.stderr.isTTY || samples.length % 10 === 0) {
        progressNote(
          `soak ${s.toFixed(0)}/${seconds} s  ` +
            `${(finished - lastFinished).toLocaleString("en-US")} req/s  RSS ${mb(rss)} MB` +
            (probed?.liveHeap === undefined ? "" : `  live heap ${mb(probed.liveHeap)} MB`),
        );
      }
      lastFinished = finished;
    };
    const timer = setInterval(sample, 1_000);
    try {
      records = await load.done;
      ran = Math.min(seconds, (performance.now() - t0) / 1000);
    } finally {
      clearInterval(timer);
      keel.child.off("exit", onKeelExit);
      progressNote("");
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    await Promise.all(servers.reverse().map(stopChildServer));
    rmSync(dir, { recursive: true, force: true });
  }
  if (keelExit !== undefined && !interrupted) throw new Error(keelExit);
  // An interrupted run is reported over the time it ran.
  if (interrupted) console.log("interrupted: requests cut off by Ctrl-C count as failed");
  printSlices(records, samples, ran, sliceCount);
  printShape(samples);
  console.log(memoryVerdict(samples, ran).line);
}

function printSlices(
  records: SteadyLoadRecords,
  samples: readonly MemorySample[],
  seconds: number,
  count: number,
): void {
  const width = seconds / count;
  // Per slice: the requests that finished inside it, and the memory sample at its end.
  const slices = Array.from({ length: count }, (_, k) => {
    const from = k * width;
    const to = (k + 1) * width;
    const latencies: number[] = [];
    let errors = 0;
    for (let i = 0; i < records.endedAt.length; i++) {
      const at = records.endedAt[i]! / 1000;
      if (at < from || at >= to) continue;
      if (records.ok[i]) latencies.push(records.latencyMs[i]!);
      else errors++;
    }
    latencies.sort((a, b) => a - b);
    const memory = samples.filter((s) => s.seconds <= to + 0.5).at(-1);
    return { from, to, latencies, errors, memory };
  });
  // The baseline: the end of the first slice after warm-up.
  const baseline = slices[1]?.memory?.rss;
  const rows: (string | number)[][] = [
    ["slice", "seconds", "req/s", "p99 ms", "errors", "RSS MB", "Δ RSS MB", "live heap MB"],
  ];
  for (const [k, slice] of slices.entries()) {
    const rss = slice.memory?.rss;
    const heap = slice.memory?.liveHeap;
    rows.push([
      k === 0 ? "1 (warm-up)" : String(k + 1),
      `${secondsLabel(slice.from)}–${secondsLabel(slice.to)}`,
      (slice.latencies.length / width).toFixed(0),
      percentile(slice.latencies, 99).toFixed(1),
      slice.errors,
      rss === undefined ? "" : mb(rss),
      k === 0 || rss === undefined || baseline === undefined ? "" : signed(mb(rss - baseline)),
      heap === undefined ? "" : mb(heap),
    ]);
  }
  const total = records.ok.length;
  const failed = records.ok.filter((ok) => !ok).length;
  console.log(
    `soak: ${total.toLocaleString("en-US")} requests (half streamed), ${failed} failed, ` +
      `over ${secondsLabel(seconds)} s`,
  );
  printTable(rows);
}

/** The run at a glance: RSS and live heap, one sample a second, as sparklines with ranges. */
function printShape(samples: readonly MemorySample[]): void {
  const line = (label: string, values: number[]) => {
    if (values.length === 0) return;
    const lo = mb(Math.min(...values));
    const hi = mb(Math.max(...values));
    console.log(`${label.padEnd(9)} ${lo.padStart(7)} MB ${sparkline(values)} ${hi} MB`);
  };
  console.log("");
  line(
    "RSS",
    samples.map((s) => s.rss),
  );
  line(
    "live heap",
    samples.flatMap((s) => (s.liveHeap === undefined ? [] : [s.liveHeap])),
  );
}

/** Whole seconds where a bound falls on one, else tenths. */
function secondsLabel(s: number): string {
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

function mb(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}

function signed(text: string): string {
  return text.startsWith("-") ? text : `+${text}`;
}
