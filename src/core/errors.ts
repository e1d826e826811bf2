/**
 * One error class for all of Keel. Every failure a user can cause or see has a stable `code`
 * from the catalog below; the HTTP status and the OpenAI error `type` follow from the code.
 * Renderers (problem+json on /api, the OpenAI error object on /v1, one line on the CLI) live
 * in `error-render.ts`.
 */

export const errorCatalog = {
  invalid_request: { status: 400, type: "invalid_request_error", title: "Invalid request" },
  invalid_json: { status: 400, type: "invalid_request_error", title: "Malformed JSON body" },
  unsupported_media_type: {
    status: 415,
    type: "invalid_request_error",
    title: "Unsupported media type",
  },
  body_too_large: { status: 413, type: "invalid_request_error", title: "Request body too large" },
  context_length_exceeded: {
    status: 400,
    type: "invalid_request_error",
    title: "Prompt longer than the model's context",
  },
  unsupported: { status: 400, type: "invalid_request_error", title: "Not supported by this model" },
  /** A model route's guardrails refused the input (400) or withheld the answer (422). */
  guardrail_blocked: {
    status: 400,
    type: "invalid_request_error",
    title: "Blocked by the model's guardrails",
  },
  unauthorized: { status: 401, type: "authentication_error", title: "Missing or invalid API key" },
  forbidden: { status: 403, type: "permission_error", title: "Not allowed" },
  not_found: { status: 404, type: "not_found_error", title: "Not found" },
  model_not_found: { status: 404, type: "not_found_error", title: "Model not found" },
  method_not_allowed: { status: 405, type: "invalid_request_error", title: "Method not allowed" },
  conflict: { status: 409, type: "invalid_request_error", title: "Conflict" },
  rate_limited: { status: 429, type: "rate_limit_error", title: "Rate limit exceeded" },
  queue_full: { status: 429, type: "rate_limit_error", title: "Model is busy: queue full" },
  client_closed: { status: 499, type: "api_error", title: "Client closed the request" },
  internal: { status: 500, type: "api_error", title: "Internal error" },
  provider_error: { status: 502, type: "api_error", title: "Upstream provider failed" },
  no_healthy_deployment: {
    status: 503,
    type: "api_error",
    title: "No healthy deployment for this model",
  },
  shutting_down: { status: 503, type: "api_error", title: "Server is shutting down" },
  /** The quota store (Redis) did not answer and the failure policy refuses unchecked calls. */
  quota_unavailable: { status: 503, type: "api_error", title: "Quota store unavailable" },
  provider_timeout: { status: 504, type: "api_error", title: "Upstream provider timed out" },
  config_invalid: { status: 500, type: "api_error", title: "Invalid configuration" },
  /** The client could not reach a Keel server (connection refused, DNS, reset). */
  server_unreachable: { status: 503, type: "api_error", title: "Keel server unreachable" },
} as const satisfies Record<string, { status: number; type: string; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface KeelErrorOptions {
  /** Overrides the catalog's status (e.g. a provider error that carries the upstream status). */
  status?: number;
  /** The request field at fault, as a dotted path (`messages.0.content`). */
  param?: string;
  /** Whether retrying the same call elsewhere may succeed (provider errors). */
  retryable?: boolean;
  /** How long the upstream asked us to wait before retrying, in ms (from `Retry-After`). */
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class KeelError extends Error {
  override readonly name = "KeelError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: KeelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? errorCatalog[code].status;
    this.param = options.param;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }

  get type(): string {
    return errorCatalog[this.code].type;
  }

  get title(): string {
    return errorCatalog[this.code].title;
  }
}

export function isKeelError(value: unknown): value is KeelError {
  return value instanceof KeelError;
}

/** The message of anything thrown, for log lines and wrapped errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
