/**
 * Whether a server's memory levelled off under steady load or kept growing, from one RSS sample
 * a second. RSS of a Node process climbs in steps while V8 sizes its heap to the load, and
 * rarely falls back; a plateau reached late in a run is not a leak, a leak is still climbing at
 * the end. The rule, simple enough to check by eye against the sparkline:
 *
 * - Growth: the slope of a least-squares line through RSS against requests served over the
 *   second half of the run (past warm-up, JIT and caches filling to their bounds), reported as
 *   MB per 10k requests. Against requests rather than time, so a slower run does not look
 *   leakier.
 * - Verdict: the same fit over the last quarter alone, "is it still growing now". "growing"
 *   when that line rises across the quarter by more than 2 MB or 1% of RSS, whichever is
 *   larger (above the jitter of RSS on a plateau); "stable" otherwise. A line, not the peak, so one
 *   transient spike does not decide it. A slow leak shows in a longer run: `--seconds 600`.
 */
export interface MemorySample {
  /** Since the load started. */
  seconds: number;
  /** Requests finished by then. */
  requests: number;
  rss: number;
  /** Heap used just after the latest major GC (bench/memory-probe.ts), when known. */
  liveHeap: number | undefined;
}

export interface MemoryVerdict {
  verdict: "stable" | "growing" | "too short to judge";
  /** Fitted RSS growth per 10k requests over the second half, in MB. */
  mbPer10k: number;
  line: string;
}

const MIN_SAMPLES = 3;
const FLOOR_BYTES = 2 * 1_048_576;
const FLOOR_SHARE = 0.01;
const MB = 1_048_576;

export function memoryVerdict(samples: readonly MemorySample[], seconds: number): MemoryVerdict {
  const half = samples.filter((s) => s.seconds >= seconds / 2);
  const last = samples.filter((s) => s.seconds >= seconds * 0.75);
  const requests = (half.at(-1)?.requests ?? 0) - (half[0]?.requests ?? 0);
  const lastRequests = (last.at(-1)?.requests ?? 0) - (last[0]?.requests ?? 0);
  if (last.length < MIN_SAMPLES || lastRequests <= 0) {
    return {
      verdict: "too short to judge",
      mbPer10k: NaN,
      line: `verdict: too short to judge (${last.length} RSS samples in the last quarter; run longer)`,
    };
  }
  const slope = rssSlope(half);
  const mbPer10k = (slope * 10_000) / MB;
  const rise = rssSlope(last) * lastRequests;
  const meanRss = last.reduce((sum, s) => sum + s.rss, 0) / last.length;
  const threshold = Math.max(FLOOR_BYTES, FLOOR_SHARE * meanRss);
  const verdict = rise > threshold ? "growing" : "stable";
  const live = half.flatMap((s) => (s.liveHeap === undefined ? [] : [s]));
  let liveNote = "";
  let hint = "";
  if (live.length >= MIN_SAMPLES) {
    const liveSlope = leastSquaresSlope(
      live.map((s) => s.requests),
      live.map((s) => s.liveHeap!),
    );
    liveNote = `; live heap ${signed((liveSlope * 10_000) / MB)} MB per 10k`;
    // RSS up with the live heap flat: V8 sizing its heap to the load, or native memory.
    if (verdict === "growing" && liveSlope * requests < threshold) {
      hint = ". The live heap is flat: if a longer run's RSS levels off, it was heap sizing";
    }
  }
  return {
    verdict,
    mbPer10k,
    line:
      `verdict: ${verdict}: RSS ${signed(mbPer10k)} MB per 10k requests over the second half` +
      `${liveNote}; over the last quarter the fit rises ${signed(rise / MB)} MB ` +
      `("growing" above ${(threshold / MB).toFixed(1)} MB)${hint}`,
  };
}

function rssSlope(samples: readonly MemorySample[]): number {
  return leastSquaresSlope(
    samples.map((s) => s.requests),
    samples.map((s) => s.rss),
  );
}

/** Slope of the least-squares line through (x, y); 0 when x does not vary. */
export function leastSquaresSlope(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

function signed(n: number): string {
  return `${n >= 0 ? "+" : ""}${n.toFixed(2)}`;
}
