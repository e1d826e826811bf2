import { z } from "zod";
import { KeelError, type ErrorCode } from "./errors.ts";

/**
 * Turns anything thrown inside a request into a KeelError, then renders it for its surface:
 * the OpenAI error object on `/v1`, problem+json (RFC 9457) on `/api` and everywhere else.
 */

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "body_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid_json",
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid_json",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid_request",
  FST_ERR_VALIDATION: "invalid_request",
};

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

export function normalizeError(err: unknown): KeelError {
  if (err instanceof KeelError) return err;
  if (err instanceof z.ZodError) return fromZodError(err);
  const e = (err ?? {}) as FastifyLikeError;
  const code = typeof e.code === "string" ? fastifyCodes[e.code] : undefined;
  const message = typeof e.message === "string" ? e.message : "request failed";
  if (code !== undefined) {
    const text =
      code === "invalid_json"
        ? `request body is not valid JSON: ${message}`
        : code === "body_too_large"
          ? "request body is larger than the server's limit (server.body_limit_bytes)"
          : message;
    return new KeelError(code, text);
  }
  if (err instanceof SyntaxError) {
    return new KeelError("invalid_json", `request body is not valid JSON: ${message}`);
  }
  const status = typeof e.statusCode === "number" ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new KeelError("invalid_request", message, { status });
  }
  return new KeelError("internal", "internal error", { cause: err });
}

/** One message per zod issue, each naming the field (`messages.0.role: …`). */
export function fromZodError(err: z.ZodError, prefix?: string): KeelError {
  const first = err.issues[0];
  const param = first ? joinPath(prefix, first.path) : prefix;
  const messages = err.issues.slice(0, 5).map((issue) => {
    const path = joinPath(prefix, issue.path);
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return new KeelError("invalid_request", messages.join("; "), {
    ...(param ? { param } : {}),
    details: {
      issues: err.issues.map((i) => ({ path: joinPath(prefix, i.path), message: i.message })),
    },
  });
}

function joinPath(prefix: string | undefined, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((p) => p !== undefined && p !== "").join(".");
}

/** Parses input with a zod schema; a failure is a 400 naming the field. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  input: unknown,
  prefix?: string,
): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw fromZodError(result.error, prefix);
  return result.data;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

export function toOpenAIError(err: KeelError): OpenAIErrorBody {
  return {
    error: {
      message: err.message,
      type: err.type,
      code: err.code,
      param: err.param ?? null,
    },
  };
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  param?: string;
  details?: Record<string, unknown>;
}

export function toProblem(err: KeelError, requestId?: string): ProblemBody {
  return {
    type: `urn:keel:error:${err.code}`,
    title: err.title,
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(requestId === undefined ? {} : { instance: requestId }),
    ...(err.param === undefined ? {} : { param: err.param }),
    ...(Object.keys(err.details).length === 0 ? {} : { details: err.details }),
  };
}
