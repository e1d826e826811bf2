import type { IncomingHttpHeaders } from "node:http";
import type { z } from "zod";
import { errorMessage, KeelError } from "../core/errors.ts";

/**
 * How a remote provider's failures become KeelErrors: upstream HTTP statuses, `Retry-After`,
 * broken connections, aborts and timeouts, malformed and truncated answers. Every message
 * names the provider and never carries a credential: callers pass `scrub`, which removes the
 * provider's key from any text that came from upstream.
 */

export type Scrub = (text: string) => string;

const noScrub: Scrub = (text) => text;

const MAX_UPSTREAM_MESSAGE = 500;

const contextLengthPattern =
  /context[ _-]?(length|window)|maximum context|too many (input )?tokens|prompt is too long|input is too long|exceeds? the (model'?s? )?(maximum|max|context)/i;

/** The wait an upstream asked for, in ms: `retry-after-ms`, else `Retry-After` (seconds or HTTP-date). */
export function parseRetryAfter(
  headers: IncomingHttpHeaders,
  now: number = Date.now(),
): number | undefined {
  const ms = firstHeader(headers["retry-after-ms"]);
  if (ms !== undefined && ms.trim() !== "") {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const after = firstHeader(headers["retry-after"])?.trim();
  if (after === undefined || after === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Math.ceil(Number(after) * 1000);
  const date = Date.parse(after);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The KeelError for a non-2xx upstream answer. */
export function errorFromStatus(
  provider: string,
  status: number,
  headers: IncomingHttpHeaders,
  bodyText: string,
  scrub: Scrub = noScrub,
): KeelError {
  const upstream = upstreamMessage(bodyText, scrub);
  const said = upstream === "" ? "" : `: ${upstream}`;
  const details = { provider, upstream_status: status };
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headers);
    return new KeelError("rate_limited", `provider "${provider}" is rate-limiting Keel${said}`, {
      retryable: true,
      details,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 408) {
    return new KeelError("provider_timeout", `provider "${provider}" timed out (HTTP 408)${said}`, {
      retryable: true,
      details,
    });
  }
  if (status === 401 || status === 403) {
    return new KeelError(
      "provider_error",
      `provider "${provider}" rejected Keel's credentials (HTTP ${status}): check the key in the ` +
        `environment variable named by providers.${provider}.api_key_env`,
      { status, retryable: false, details },
    );
  }
  if (status === 404) {
    return new KeelError(
      "provider_error",
      `provider "${provider}" answered 404: upstream model not found (check the deployment's ` +
        `model name and the provider's base_url)${said}`,
      { status, retryable: false, details },
    );
  }
  if (status === 400 || status === 413 || status === 422) {
    const code = isContextLength(bodyText) ? "context_length_exceeded" : "invalid_request";
    return new KeelError(code, `provider "${provider}" refused the request${said}`, {
      retryable: false,
      details,
    });
  }
  if (status >= 500) {
    const retryAfterMs = parseRetryAfter(headers);
    return new KeelError(
      "provider_error",
      `provider "${provider}" failed (HTTP ${status})${said}`,
      {
        status,
        retryable: true,
        details,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    );
  }
  return new KeelError("provider_error", `provider "${provider}" answered HTTP ${status}${said}`, {
    status: 502,
    retryable: false,
    details,
  });
}

/**
 * The KeelError for a call that failed without an HTTP answer: an abort (a timeout or the
 * client going away), an undici timeout, or a broken connection.
 */
export function errorFromFailure(
  provider: string,
  err: unknown,
  signal: AbortSignal | undefined,
  origin: string,
): KeelError {
  if (signal?.aborted) return errorFromAbort(provider, signal.reason);
  if (err instanceof KeelError) return err;
  const code = errorCode(err);
  if (
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT" ||
    code === "UND_ERR_CONNECT_TIMEOUT"
  ) {
    return new KeelError(
      "provider_timeout",
      `provider "${provider}" at ${origin} timed out (${code})`,
      {
        retryable: true,
        details: { provider },
      },
    );
  }
  return new KeelError(
    "provider_error",
    `cannot reach provider "${provider}" at ${origin}: ${code ?? errorMessage(err)}`,
    { retryable: true, details: { provider } },
  );
}

/** A timeout abort is a retryable provider_timeout; any other abort ends the call for good. */
export function errorFromAbort(provider: string, reason: unknown): KeelError {
  const timedOut =
    (reason instanceof DOMException && reason.name === "TimeoutError") ||
    (reason instanceof KeelError && reason.code === "provider_timeout");
  if (timedOut) {
    return new KeelError("provider_timeout", `provider "${provider}" did not answer in time`, {
      retryable: true,
      details: { provider },
    });
  }
  if (reason instanceof KeelError) return reason;
  return new KeelError("client_closed", `the call to provider "${provider}" was cancelled`, {
    retryable: false,
    details: { provider },
  });
}

/** A 2xx answer that does not have the shape the API promises. */
export function malformedResponse(provider: string, what: string, error?: z.ZodError): KeelError {
  const issue = error?.issues[0];
  const where = issue ? ` (${issue.path.map(String).join(".") || "body"}: ${issue.message})` : "";
  return new KeelError(
    "provider_error",
    `provider "${provider}" sent a malformed ${what}${where}`,
    {
      retryable: true,
      details: { provider },
    },
  );
}

/** The upstream closed a stream before its end marker. */
export function truncatedStream(provider: string, cause?: unknown): KeelError {
  const why = cause === undefined ? "" : ` (${errorCode(cause) ?? errorMessage(cause)})`;
  return new KeelError(
    "provider_error",
    `the stream from provider "${provider}" was truncated: the connection closed before the end of the answer${why}`,
    { retryable: true, details: { provider } },
  );
}

/** An error the upstream reported inside a 200 stream. */
export function streamErrorEvent(provider: string, payload: unknown, scrub: Scrub): KeelError {
  const message = upstreamMessage(JSON.stringify(payload), scrub);
  const type = errorType(payload);
  if (type === "rate_limit_error") {
    return new KeelError(
      "rate_limited",
      `provider "${provider}" is rate-limiting Keel: ${message}`,
      {
        retryable: true,
        details: { provider },
      },
    );
  }
  return new KeelError("provider_error", `provider "${provider}" failed mid-stream: ${message}`, {
    retryable: true,
    details: { provider },
  });
}

function upstreamMessage(bodyText: string, scrub: Scrub): string {
  let message = bodyText.trim();
  try {
    const body = JSON.parse(bodyText) as unknown;
    message = extractMessage(body) ?? message;
  } catch {
    // not JSON: the text itself is the message
  }
  message = scrub(message.replace(/\s+/g, " "));
  return message.length > MAX_UPSTREAM_MESSAGE
    ? `${message.slice(0, MAX_UPSTREAM_MESSAGE)}…`
    : message;
}

function extractMessage(body: unknown): string | undefined {
  if (typeof body === "string") return body;
  if (body === null || typeof body !== "object") return undefined;
  const record = body as Record<string, unknown>;
  for (const key of ["error", "message", "detail", "error_message"]) {
    const value = record[key];
    if (typeof value === "string") return value;
    if (key === "error" && value !== null && typeof value === "object") {
      const inner = extractMessage(value);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

function errorType(payload: unknown): string | undefined {
  if (payload === null || typeof payload !== "object") return undefined;
  const error = (payload as { error?: unknown }).error;
  if (error === null || typeof error !== "object") return undefined;
  const type = (error as { type?: unknown }).type;
  return typeof type === "string" ? type : undefined;
}

function isContextLength(bodyText: string): boolean {
  return bodyText.includes("context_length_exceeded") || contextLengthPattern.test(bodyText);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== "object") return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
