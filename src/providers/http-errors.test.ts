import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeelError } from "../core/errors.ts";
import {
  errorFromAbort,
  errorFromFailure,
  errorFromStatus,
  parseRetryAfter,
} from "./http-errors.ts";

const openAIBody = (message: string, code: string | null = null) =>
  JSON.stringify({ error: { message, type: "invalid_request_error", code } });

describe("Retry-After parsing", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  test("reads seconds, HTTP-dates and retry-after-ms", () => {
    assert.equal(parseRetryAfter({ "retry-after": "3" }, now), 3000);
    assert.equal(parseRetryAfter({ "retry-after": "0.5" }, now), 500);
    assert.equal(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 00:00:07 GMT" }, now), 7000);
    assert.equal(parseRetryAfter({ "retry-after-ms": "250", "retry-after": "9" }, now), 250);
  });

  test("ignores absent and unreadable values, and never returns a negative wait", () => {
    assert.equal(parseRetryAfter({}, now), undefined);
    assert.equal(parseRetryAfter({ "retry-after": "soon" }, now), undefined);
    assert.equal(parseRetryAfter({ "retry-after": "Wed, 31 Dec 2025 23:00:00 GMT" }, now), 0);
  });
});

describe("upstream status mapping", () => {
  const cases: [number, string, boolean, number][] = [
    [429, "rate_limited", true, 429],
    [500, "provider_error", true, 500],
    [503, "provider_error", true, 503],
    [529, "provider_error", true, 529],
    [408, "provider_timeout", true, 504],
    [400, "invalid_request", false, 400],
    [422, "invalid_request", false, 400],
    [401, "provider_error", false, 401],
    [403, "provider_error", false, 403],
    [404, "provider_error", false, 404],
  ];
  for (const [status, code, retryable, httpStatus] of cases) {
    test(`HTTP ${status} becomes ${code} (retryable: ${retryable})`, () => {
      const err = errorFromStatus("up", status, {}, openAIBody("nope"));
      assert.equal(err.code, code);
      assert.equal(err.retryable, retryable);
      assert.equal(err.status, httpStatus);
      assert.equal(err.details.upstream_status, status);
    });
  }

  test("a 429 carries the upstream's Retry-After", () => {
    const err = errorFromStatus("up", 429, { "retry-after": "2" }, "");
    assert.equal(err.retryAfterMs, 2000);
  });

  test("a 400 keeps the upstream's message", () => {
    const err = errorFromStatus("up", 400, {}, openAIBody("temperature must be <= 2"));
    assert.match(err.message, /temperature must be <= 2/);
  });

  test("a context-length 400 becomes context_length_exceeded", () => {
    const openai = openAIBody(
      "This model's maximum context length is 4096 tokens.",
      "context_length_exceeded",
    );
    assert.equal(errorFromStatus("up", 400, {}, openai).code, "context_length_exceeded");
    const anthropic = JSON.stringify({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "prompt is too long: 210000 tokens > 200000 maximum",
      },
    });
    assert.equal(errorFromStatus("up", 400, {}, anthropic).code, "context_length_exceeded");
    assert.equal(
      errorFromStatus("up", 400, {}, "input is too long for requested model").code,
      "context_length_exceeded",
    );
  });

  test("401 says the provider rejected Keel's credentials and never echoes the upstream text", () => {
    const err = errorFromStatus(
      "up",
      401,
      {},
      openAIBody("Incorrect API key provided: sk-live-abc"),
    );
    assert.match(err.message, /rejected Keel's credentials/);
    assert.match(err.message, /providers\.up\.api_key_env/);
    assert.doesNotMatch(err.message, /sk-live-abc/);
  });

  test("404 says the upstream model was not found", () => {
    assert.match(errorFromStatus("up", 404, {}, "").message, /upstream model not found/);
  });

  test("scrub removes the key from upstream text", () => {
    const err = errorFromStatus("up", 400, {}, openAIBody("bad key sk-secret-42 here"), (t) =>
      t.split("sk-secret-42").join("[redacted]"),
    );
    assert.doesNotMatch(err.message, /sk-secret-42/);
    assert.match(err.message, /\[redacted\]/);
  });

  test("a long upstream message is truncated", () => {
    const err = errorFromStatus("up", 400, {}, openAIBody("x".repeat(5000)));
    assert.ok(err.message.length < 700);
  });
});

describe("failures without an answer", () => {
  test("an abort caused by a timeout is a retryable provider_timeout", () => {
    const timeout = new DOMException("timed out", "TimeoutError");
    const err = errorFromAbort("up", timeout);
    assert.equal(err.code, "provider_timeout");
    assert.equal(err.retryable, true);
    const keel = errorFromAbort("up", new KeelError("provider_timeout", "deadline"));
    assert.equal(keel.code, "provider_timeout");
    assert.equal(keel.retryable, true);
  });

  test("any other abort is client_closed and not retried; a KeelError reason is kept", () => {
    const err = errorFromAbort("up", new DOMException("gone", "AbortError"));
    assert.equal(err.code, "client_closed");
    assert.equal(err.retryable, false);
    const shutdown = new KeelError("shutting_down", "stopping");
    assert.equal(errorFromAbort("up", shutdown), shutdown);
  });

  test("a refused or reset connection is a retryable provider_error", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const err = errorFromFailure("up", refused, undefined, "http://127.0.0.1:1");
    assert.equal(err.code, "provider_error");
    assert.equal(err.retryable, true);
    assert.equal(err.status, 502);
    assert.match(err.message, /ECONNREFUSED/);
  });

  test("undici's header and body timeouts are provider_timeout", () => {
    const err = Object.assign(new Error("Headers Timeout Error"), {
      code: "UND_ERR_HEADERS_TIMEOUT",
    });
    assert.equal(errorFromFailure("up", err, undefined, "http://x").code, "provider_timeout");
  });
});
