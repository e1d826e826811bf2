import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, retryDelay } from "./backoff.ts";

const config = { base_delay_ms: 100, max_delay_ms: 1_000 };

describe("backoff", () => {
  test("full jitter stays within [0, base × 2^(n-1)], capped at max_delay_ms", () => {
    for (let retry = 1; retry <= 8; retry++) {
      const ceiling = Math.min(1_000, 100 * 2 ** (retry - 1));
      assert.equal(
        backoffDelay(retry, config, () => 0),
        0,
      );
      assert.equal(
        backoffDelay(retry, config, () => 0.999_999),
        ceiling,
      );
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(retry, config);
        assert.ok(delay >= 0 && delay <= ceiling, `retry ${retry}: ${delay} > ${ceiling}`);
      }
    }
  });

  test("very late retries do not overflow the cap", () => {
    assert.equal(
      backoffDelay(2_000, config, () => 0.999_999),
      1_000,
    );
  });

  test("honours a Retry-After that fits", () => {
    const delay = retryDelay({ retry: 1, config, retryAfterMs: 700, remainingMs: 10_000 });
    assert.equal(delay, 700);
  });

  test("moves on when Retry-After exceeds max_delay_ms or the remaining budget", () => {
    assert.equal(
      retryDelay({ retry: 1, config, retryAfterMs: 5_000, remainingMs: 60_000 }),
      undefined,
    );
    assert.equal(retryDelay({ retry: 1, config, retryAfterMs: 500, remainingMs: 400 }), undefined);
  });

  test("moves on when even the backoff would outlive the request", () => {
    const delay = retryDelay({
      retry: 3,
      config,
      retryAfterMs: undefined,
      remainingMs: 10,
      random: () => 0.9,
    });
    assert.equal(delay, undefined);
  });
});
