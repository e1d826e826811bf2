import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectCandidates, detectPii, resolveOverlaps } from "./pii-detectors.ts";
import type { PiiSpan } from "./schema.ts";

const span = (type: PiiSpan["type"], start: number, end: number): PiiSpan => ({
  type,
  start,
  end,
  text: "x".repeat(end - start),
  confidence: 0.9,
});

describe("detectPii", () => {
  test("returns each value once, with exact offsets, sorted by position", () => {
    const text = "Mail ann@example.com, card 4111 1111 1111 1111, from 10.0.0.1.";
    const spans = detectPii(text);
    assert.deepEqual(
      spans.map((s) => [s.type, s.start, s.end]),
      [
        ["email", 5, 20],
        ["credit_card", 27, 46],
        ["ipv4", 53, 61],
      ],
    );
    for (const s of spans) assert.equal(text.slice(s.start, s.end), s.text);
  });

  test("keeps the more specific type when two detectors claim the same characters", () => {
    const text = "::ffff:192.0.2.1 and secret=sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7s";
    assert.ok(detectCandidates(text).length > detectPii(text).length, "there were overlaps");
    assert.deepEqual(
      detectPii(text).map((s) => s.type),
      ["ipv6", "api_key"],
    );
  });

  test("overlap resolution prefers specificity, then length, and keeps disjoint spans", () => {
    const resolved = resolveOverlaps([
      span("secret", 0, 30),
      span("api_key", 0, 25),
      span("phone", 40, 52),
      span("phone", 40, 55),
      span("email", 60, 70),
    ]);
    assert.deepEqual(
      resolved.map((s) => [s.type, s.start, s.end]),
      [
        ["api_key", 0, 25],
        ["phone", 40, 55],
        ["email", 60, 70],
      ],
    );
  });

  test("can be limited to some entity types", () => {
    const text = "ann@example.com 10.0.0.1";
    assert.deepEqual(
      detectPii(text, ["ipv4"]).map((s) => s.type),
      ["ipv4"],
    );
  });

  test("scans 1 MB of adversarial input in bounded time (no catastrophic backtracking)", () => {
    const MB = 1 << 20;
    const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
    const inputs = [
      fill("1 "),
      fill("a.b@c."),
      fill("a") + "@",
      fill("+1 "),
      fill("ab12:"),
      fill("eyJhbGci."),
      "sk-" + fill("a"),
      fill("key: aB3"),
      fill("password: "),
      fill("DE89 "),
      fill("(1"),
      fill("ssn "),
    ];
    const started = performance.now();
    for (const input of inputs) detectPii(input);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 30, `took ${seconds.toFixed(1)} s for ${inputs.length} MB`);
  });
});
