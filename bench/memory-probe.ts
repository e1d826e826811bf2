import { renameSync, writeFileSync } from "node:fs";
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";

/**
 * Preloaded into the server under test (`node --import ./bench/memory-probe.ts …`) by the soak
 * benchmark: once a second it writes the process's `process.memoryUsage()` as JSON to the file
 * named by KEEL_MEMORY_PROBE_FILE, which the benchmark reads. The V8 heap is only visible from
 * inside the process; RSS the benchmark reads from /proc itself, which works even while the
 * event loop is stuck.
 *
 * Heap used at an arbitrary moment is mostly garbage not yet collected (a saw-tooth), so the
 * probe also keeps `liveHeap`: heap used just after the latest major (mark-sweep) collection,
 * read when Node reports that collection, a moment after it. That is what the program really
 * holds; a leak makes it climb from one collection to the next.
 *
 * Main thread only: worker threads inherit the preload, and the SQLite worker's heap is not the
 * one to watch. The write replaces the file in one rename, so a reader never sees half of it;
 * the timer and the observer never keep the process alive.
 */
const file = process.env.KEEL_MEMORY_PROBE_FILE;

if (file !== undefined && file !== "" && isMainThread) {
  let liveHeap: number | undefined;
  const observer = new PerformanceObserver((list) => {
    const major = list
      .getEntries()
      .some((entry: PerformanceEntry) => gcKind(entry) === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (major) liveHeap = process.memoryUsage().heapUsed;
  });
  observer.observe({ entryTypes: ["gc"] });

  const write = () => {
    try {
      const usage = process.memoryUsage();
      writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...usage, liveHeap }));
      renameSync(`${file}.tmp`, file);
    } catch {
      // The benchmark's temp dir is gone: it has finished.
    }
  };
  write();
  setInterval(write, 1_000).unref();
}

/** A "gc" entry's kind (major, minor…), which Node puts in `detail` (untyped in @types/node). */
function gcKind(entry: PerformanceEntry): number | undefined {
  return (entry as PerformanceEntry & { detail?: { kind?: number } | null }).detail?.kind;
}
