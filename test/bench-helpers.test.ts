import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { intFlag } from "../bench/args.ts";
import { leastSquaresSlope, memoryVerdict, type MemorySample } from "../bench/memory-verdict.ts";
import { sparkline } from "../bench/sparkline.ts";

/** The pure parts of the benchmarks: a wrong verdict or chart would mislead whoever reads them. */
const MB = 1_048_576;

/** One sample a second for `seconds`, 1,000 requests a second, RSS from `rssAt(second)`. */
function run(seconds: number, rssAt: (s: number) => number): MemorySample[] {
  return Array.from({ length: seconds }, (_, s) => ({
    seconds: s,
    requests: s * 1_000,
    rss: rssAt(s) * MB,
    liveHeap: 50 * MB,
  }));
}

describe("soak memory verdict", () => {
  test("a plateau reached early is stable, even with one spike at the end", () => {
    const samples = run(120, (s) => (s < 30 ? 200 + s * 10 : 500));
    samples[110]!.rss = 530 * MB;
    assert.equal(memoryVerdict(samples, 120).verdict, "stable");
  });

  test("RSS still climbing in the last quarter is growing, with its rate per 10k requests", () => {
    const verdict = memoryVerdict(
      run(120, (s) => 200 + s),
      120,
    );
    assert.equal(verdict.verdict, "growing");
    // 1 MB a second at 1,000 requests a second: 10 MB per 10k requests.
    assert.ok(Math.abs(verdict.mbPer10k - 10) < 1e-9, String(verdict.mbPer10k));
    assert.match(verdict.line, /live heap is flat/);
  });

  test("too few samples are not judged", () => {
    assert.equal(
      memoryVerdict(
        run(4, () => 100),
        4,
      ).verdict,
      "too short to judge",
    );
  });

  test("the least-squares slope of a line is its slope; flat x gives 0", () => {
    assert.equal(leastSquaresSlope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
    assert.equal(leastSquaresSlope([2, 2, 2], [1, 5, 9]), 0);
  });
});

describe("bench charts and flags", () => {
  test("a sparkline spans the series' own range and averages long series to its width", () => {
    assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8]), "▁▂▃▄▅▆▇█");
    assert.equal(sparkline([5, 5, 5]), "▁▁▁");
    assert.equal(
      sparkline(
        Array.from({ length: 600 }, (_, i) => i),
        60,
      ).length,
      60,
    );
  });

  test("an integer flag outside its range stops the bench, naming the flag", () => {
    assert.equal(intFlag(["--rows", "5000"], "--rows", 1, 1_000, 10_000), 5_000);
    assert.equal(intFlag([], "--rows", 2_000, 1_000, 10_000), 2_000);
    assert.throws(
      () => intFlag(["--rows", "1.5"], "--rows", 1, 1, 10),
      /--rows: expected an integer/,
    );
    assert.throws(() => intFlag(["--rows", "99"], "--rows", 1, 1, 10), /from 1 to 10, got "99"/);
  });
});
