import { request, type Dispatcher } from "undici";
import type { z } from "zod";
import { errorCatalog, KeelError, type ErrorCode } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";

/**
 * One HTTP exchange with a Keel server through undici: the base URL, the API key, JSON in and
 * out, and every failure turned into a KeelError. A server's problem+json or OpenAI error
 * object keeps its code and message; a server that cannot be reached names the URL.
 */
export interface TransportOptions {
  baseUrl: string;
  apiKey?: Secret | undefined;
}

export type Method = "GET" | "POST" | "DELETE";

export interface SendOptions {
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Take these statuses besides 2xx as answers rather than errors. */
  okStatuses?: readonly number[];
  /** The Accept header, when the answer is not plain JSON (`application/x-ndjson`). */
  accept?: string;
  /** Connections to use instead of undici's global pool. */
  dispatcher?: Dispatcher;
}

export interface Response {
  status: number;
  url: string;
  body: AsyncIterable<Buffer> & { text(): Promise<string>; destroy(): unknown };
}

export interface Transport {
  readonly baseUrl: string;
  send(method: Method, path: string, options?: SendOptions): Promise<Response>;
  /** Sends, then reads the JSON answer and checks it against the schema. */
  json<T extends z.ZodType>(
    schema: T,
    method: Method,
    path: string,
    options?: SendOptions,
  ): Promise<z.infer<T>>;
}

export function createTransport(options: TransportOptions): Transport {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const auth: Record<string, string> =
    options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey.reveal()}` };

  async function send(method: Method, path: string, opts: SendOptions = {}) {
    const url = `${baseUrl}${path}`;
    const headers: Record<string, string> = {
      accept: opts.accept ?? "application/json",
      ...auth,
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
    };
    let res;
    try {
      res = await request(url, {
        method,
        headers,
        ...(opts.query === undefined ? {} : { query: opts.query }),
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }),
      });
    } catch (err) {
      throw opts.signal?.aborted ? err : connectionError(baseUrl, err);
    }
    const ok = res.statusCode < 300 || (opts.okStatuses ?? []).includes(res.statusCode);
    if (!ok) throw errorFromBody(res.statusCode, await res.body.text(), url);
    return { status: res.statusCode, url, body: res.body };
  }

  return {
    baseUrl,
    send,
    async json(schema, method, path, opts) {
      const res = await send(method, path, opts);
      const text = await res.body.text();
      const parsed = schema.safeParse(parseJson(text));
      if (!parsed.success) {
        // An accepted non-2xx status whose body is not the expected answer is a plain error.
        if (res.status >= 300) throw errorFromBody(res.status, text, res.url);
        const issue = parsed.error.issues[0];
        const where = issue === undefined ? "" : ` (${issue.path.join(".")}: ${issue.message})`;
        throw new KeelError("internal", `unexpected answer from ${res.url}${where}`);
      }
      return parsed.data;
    },
  };
}

function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KeelError(
      "invalid_request",
      `server URL "${raw}" is not a URL: use http://host:port`,
      {
        param: "url",
      },
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new KeelError(
      "invalid_request",
      `server URL "${raw}" must start with http:// or https://`,
      {
        param: "url",
      },
    );
  }
  return url.href.replace(/\/+$/, "");
}

/** JSON text to a value, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const codeByStatus: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "body_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
  502: "provider_error",
  504: "provider_timeout",
};

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(errorCatalog, value);
}

interface ErrorFields {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  param?: unknown;
}

/** A server error answer (problem+json or an OpenAI error object) as a KeelError. */
export function errorFromBody(status: number, text: string, url: string): KeelError {
  const body = parseJson(text);
  const fields: ErrorFields =
    body !== null && typeof body === "object"
      ? "error" in body && body.error !== null && typeof body.error === "object"
        ? body.error
        : body
      : {};
  const code = isErrorCode(fields.code)
    ? fields.code
    : (codeByStatus[status] ?? (status >= 500 ? "internal" : "invalid_request"));
  const message =
    typeof fields.detail === "string"
      ? fields.detail
      : typeof fields.message === "string"
        ? fields.message
        : `HTTP ${status} from ${url}${text.trim() === "" ? "" : `: ${text.trim().slice(0, 200)}`}`;
  return new KeelError(code, message, {
    status,
    ...(typeof fields.param === "string" ? { param: fields.param } : {}),
  });
}

interface NetworkError {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** A failure to reach the server at all, naming the URL and the likely fix. */
export function connectionError(baseUrl: string, err: unknown): KeelError {
  const e = (err ?? {}) as NetworkError;
  // Dual-stack connects fail with an AggregateError holding one error per address.
  const inner = Array.isArray(e.errors) ? ((e.errors[0] ?? {}) as NetworkError) : e;
  const code = typeof e.code === "string" ? e.code : inner.code;
  const reason =
    code === "ECONNREFUSED"
      ? `connection refused (is keel serve running? point --url or KEEL_URL at it)`
      : code === "ENOTFOUND" || code === "EAI_AGAIN"
        ? "host not found (check --url or KEEL_URL)"
        : typeof inner.message === "string" && inner.message !== ""
          ? inner.message
          : String(err);
  return new KeelError("server_unreachable", `cannot reach Keel at ${baseUrl}: ${reason}`, {
    cause: err,
  });
}
