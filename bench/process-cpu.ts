import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time a benchmarked server has spent, in microseconds, from Linux's per-thread
 * `/proc/PID/task/TID/schedstat`, by the threads' kind (from their names): `main` is the main
 * thread (the event loop, where a Node server's throughput is decided), `worker` its
 * worker_threads, `gc` V8's helper threads, `pool` libuv's, `other` the rest; `allThreads`
 * adds them up. Undefined where those files do not exist (not Linux, process gone). Unlike
 * requests per second these barely move when other work competes for the CPUs, so they
 * compare servers fairly on a busy machine.
 */
export type CpuMicros = Record<ThreadKind, number>;

export type ThreadKind = "main" | "worker" | "gc" | "pool" | "other";

export const THREAD_KINDS: readonly ThreadKind[] = ["main", "worker", "gc", "pool", "other"];

export function allThreads(cpu: CpuMicros): number {
  let sum = 0;
  for (const kind of THREAD_KINDS) sum += cpu[kind];
  return sum;
}

/** Thread names as Linux shows them (`/proc/PID/task/TID/comm`) for Node 24's threads. */
function kindOf(name: string): ThreadKind {
  if (name === "WorkerThread") return "worker";
  if (name === "V8Worker") return "gc";
  if (name === "libuv-worker") return "pool";
  return "other";
}

export function processCpuMicros(pid: number | undefined): CpuMicros | undefined {
  if (pid === undefined) return undefined;
  try {
    const cpu: CpuMicros = { main: 0, worker: 0, gc: 0, pool: 0, other: 0 };
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kind = tid === String(pid) ? "main" : kindOf(threadName(pid, tid));
      cpu[kind] += onCpuMicros(`/proc/${pid}/task/${tid}/schedstat`);
    }
    return cpu;
  } catch {
    return undefined;
  }
}

function threadName(pid: number, tid: string): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
  } catch {
    return ""; // the thread ended between listing and reading
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
