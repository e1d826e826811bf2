import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time a benchmarked server has spent, in microseconds, from Linux's per-thread
 * `/proc/PID/task/TID/schedstat`: `main` is the main thread (the event loop, where a Node
 * server's throughput is decided), `all` adds every other thread (libuv's pool, GC helpers,
 * workers). Undefined where those files do not exist (not Linux, process gone). Unlike
 * requests per second these barely move when other work competes for the CPUs, so they
 * compare servers fairly on a busy machine.
 */
export interface CpuMicros {
  main: number;
  all: number;
}

export function processCpuMicros(pid: number | undefined): CpuMicros | undefined {
  if (pid === undefined) return undefined;
  try {
    let all = 0;
    let main = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const micros = onCpuMicros(`/proc/${pid}/task/${tid}/schedstat`);
      all += micros;
      if (tid === String(pid)) main = micros;
    }
    return { main, all };
  } catch {
    return undefined;
  }
}

function onCpuMicros(file: string): number {
  try {
    const ns = Number(readFileSync(file, "utf8").split(" ")[0]);
    return Number.isFinite(ns) ? ns / 1000 : 0;
  } catch {
    return 0; // the thread ended between listing and reading
  }
}
