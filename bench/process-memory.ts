import { readFileSync } from "node:fs";

/**
 * Memory of a benchmarked server. RSS comes from Linux's `/proc/PID/status` (`VmRSS`): read from
 * outside, it needs nothing from the server and is right even while its event loop is busy.
 * The V8 heap is only known inside the process: bench/memory-probe.ts, preloaded into it,
 * writes `process.memoryUsage()` to a file once a second, read here. Either is undefined where
 * it cannot be had (not Linux, process gone, probe not loaded yet).
 */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

export interface ProbedMemory {
  /** When the probe wrote it (epoch ms). */
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Heap used just after the latest major GC; absent until the first one. */
  liveHeap?: number;
}

export function probedMemory(file: string): ProbedMemory | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ProbedMemory;
  } catch {
    return undefined;
  }
}
