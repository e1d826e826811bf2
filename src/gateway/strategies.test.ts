import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStrategy, type Pickable } from "./strategies.ts";

interface D extends Pickable {
  name: string;
  weight: number;
  inFlight: number;
  latencyEwma: number | undefined;
}

function d(name: string, over: Partial<D> = {}): D {
  return { name, weight: 1, inFlight: 0, latencyEwma: undefined, ...over };
}

/** A deterministic random source cycling through the given values. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const all = () => true;

describe("weighted strategy", () => {
  test("picks in proportion to weight", () => {
    const group = [d("a", { weight: 3 }), d("b", { weight: 1 })];
    const picks = [0, 0.5, 0.74, 0.76, 0.99].map(
      (r) => createStrategy<D>("weighted", () => r).pick(group, all)!.name,
    );
    assert.deepEqual(picks, ["a", "a", "a", "b", "b"]);
  });

  test("never picks a zero-weight deployment while another has weight", () => {
    const group = [d("zero", { weight: 0 }), d("one", { weight: 1 })];
    const strategy = createStrategy<D>("weighted", sequence(0, 0.3, 0.999));
    for (let i = 0; i < 3; i++) assert.equal(strategy.pick(group, all)!.name, "one");
  });

  test("treats all-zero weights as uniform and skips ineligible deployments", () => {
    const group = [d("a", { weight: 0 }), d("b", { weight: 0 }), d("c", { weight: 0 })];
    const strategy = createStrategy<D>("weighted", () => 0.9);
    assert.equal(strategy.pick(group, all)!.name, "c");
    assert.equal(strategy.pick(group, (x) => x.name !== "c")!.name, "b");
    assert.equal(
      strategy.pick(group, () => false),
      undefined,
    );
  });
});

describe("round-robin strategy", () => {
  test("cycles through deployments and skips ineligible ones", () => {
    const group = [d("a"), d("b"), d("c")];
    const strategy = createStrategy<D>("round-robin");
    const names = Array.from({ length: 4 }, () => strategy.pick(group, all)!.name);
    assert.deepEqual(names, ["a", "b", "c", "a"]);
    assert.equal(strategy.pick(group, (x) => x.name !== "b")!.name, "c");
    assert.equal(strategy.pick(group, all)!.name, "a");
  });
});

describe("least-in-flight strategy", () => {
  test("picks the deployment with the fewest calls in progress", () => {
    const group = [
      d("busy", { inFlight: 5 }),
      d("idle", { inFlight: 1 }),
      d("mid", { inFlight: 2 }),
    ];
    assert.equal(createStrategy<D>("least-in-flight").pick(group, all)!.name, "idle");
  });

  test("breaks ties at random among the least loaded", () => {
    const group = [d("a", { inFlight: 1 }), d("b", { inFlight: 0 }), d("c", { inFlight: 0 })];
    assert.equal(createStrategy<D>("least-in-flight", () => 0).pick(group, all)!.name, "b");
    assert.equal(createStrategy<D>("least-in-flight", () => 0.99).pick(group, all)!.name, "c");
  });
});

describe("lowest-latency strategy", () => {
  test("tries unmeasured deployments first, then the fastest", () => {
    const group = [d("slow", { latencyEwma: 300 }), d("new"), d("fast", { latencyEwma: 20 })];
    const strategy = createStrategy<D>("lowest-latency", () => 0);
    assert.equal(strategy.pick(group, all)!.name, "new");
    assert.equal(strategy.pick(group, (x) => x.name !== "new")!.name, "fast");
  });
});
