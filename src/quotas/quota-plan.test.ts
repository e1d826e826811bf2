import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { planReservation, reservationFor, utcDay, utcMonth, WINDOW_MS } from "./quota-plan.ts";

const now = Date.UTC(2026, 10, 5, 18, 30, 15); // 2026-11-05T18:30:15Z

describe("quota plan", () => {
  test("budget periods are UTC days and UTC months, ending at the next one's first ms", () => {
    assert.deepEqual(utcDay(now), { label: "day:20261105", end: Date.UTC(2026, 10, 6) });
    assert.deepEqual(utcMonth(now), { label: "month:202611", end: Date.UTC(2026, 11, 1) });
    assert.equal(utcMonth(Date.UTC(2026, 11, 31, 23, 59)).end, Date.UTC(2027, 0, 1));
    assert.equal(utcDay(Date.UTC(2028, 1, 28, 12)).end, Date.UTC(2028, 1, 29));
  });

  test("only the limits that are set become checks, key scope before project scope", () => {
    const checks = planReservation(
      [
        { kind: "key", id: "key_a", limits: { requests_per_minute: 10 } },
        {
          kind: "project",
          id: "prj_b",
          limits: { tokens_per_minute: 1000, daily_budget_usd: 2.5 },
        },
      ],
      { tokens: 300, costMicros: 1200, now },
    );
    assert.deepEqual(
      checks.map((c) => [c.scope, c.limit, c.max, c.cost]),
      [
        ["key", "requests_per_minute", 10, 1],
        ["project", "tokens_per_minute", 1000, 300],
        ["project", "daily_budget_usd", 2_500_000, 1200],
      ],
    );
  });

  test("every counter expires: minute buckets within two minutes, budgets a day after their period", () => {
    const checks = planReservation(
      [{ kind: "key", id: "key_a", limits: { requests_per_minute: 1, monthly_budget_usd: 1 } }],
      { tokens: 1, costMicros: 1, now },
    );
    for (const check of checks) {
      assert.ok(check.ttlMs > 0);
      if (check.type === "window") assert.ok(check.ttlMs <= 2 * WINDOW_MS + 10_000);
      else assert.equal(check.ttlMs, Date.UTC(2026, 11, 1) - now + 86_400_000);
    }
  });

  test("a reservation remembers the token and spend counters it was added to", () => {
    const request = { tokens: 50, costMicros: 7, now };
    const checks = planReservation(
      [
        {
          kind: "project",
          id: "prj_b",
          limits: { requests_per_minute: 5, tokens_per_minute: 100, daily_budget_usd: 1 },
        },
      ],
      request,
    );
    const reservation = reservationFor(checks, request);
    assert.deepEqual(reservation.tokenKeys, [`project:prj_b:tpm:${Math.floor(now / WINDOW_MS)}`]);
    assert.deepEqual(reservation.spendKeys, ["project:prj_b:day:20261105"]);
    assert.deepEqual(reservation.estimate, { tokens: 50, costMicros: 7 });
  });
});
