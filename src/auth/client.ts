import { request } from "undici";
import type { z } from "zod";
import { errorCatalog, KeelError, type ErrorCode } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";
import {
  createdKeySchema,
  keyListSchema,
  keySchema,
  projectListSchema,
  projectSchema,
  type CreatedKey,
  type KeyView,
  type Project,
} from "./schema.ts";

/**
 * The projects and keys API over HTTP (undici), for `keel projects` and `keel keys`. Answers
 * are checked against the schemas the server renders with; a server error keeps its code and
 * message.
 */
export interface AuthClient {
  createProject(body: { name: string }): Promise<Project>;
  listProjects(): Promise<Project[]>;
  getProject(id: string): Promise<Project>;
  createKey(body: Record<string, unknown>): Promise<CreatedKey>;
  listKeys(query: { project_id?: string; include_revoked?: boolean }): Promise<KeyView[]>;
  revokeKey(id: string): Promise<KeyView>;
  rotateKey(id: string, body: Record<string, unknown>): Promise<CreatedKey>;
}

type Method = "GET" | "POST" | "DELETE";

export function createAuthClient(options: {
  baseUrl: string;
  apiKey: Secret | undefined;
}): AuthClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");

  async function call<T extends z.ZodType>(
    schema: T,
    method: Method,
    path: string,
    body?: unknown,
    query?: Record<string, string>,
  ): Promise<z.infer<T>> {
    if (options.apiKey === undefined) {
      throw new KeelError("unauthorized", "no API key: set KEEL_API_KEY to a key (sk-keel-…)");
    }
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Bearer ${options.apiKey.reveal()}`,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await request(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(query === undefined ? {} : { query }),
      });
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      const reason = typeof e.code === "string" ? e.code : String(e.message);
      throw new KeelError(
        "server_unreachable",
        `cannot reach Keel at ${baseUrl} (${reason}): is keel serve running? ` +
          "Point --url or KEEL_URL at it",
        { cause: err },
      );
    }
    const text = await res.body.text();
    const value = parseJson(text);
    if (res.statusCode >= 300) throw serverError(res.statusCode, value, text);
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new KeelError("internal", `unexpected answer from ${baseUrl}${path}`);
    }
    return parsed.data;
  }

  const key = (id: string) => `/api/keys/${encodeURIComponent(id)}`;

  return {
    createProject: (body) => call(projectSchema, "POST", "/api/projects", body),
    listProjects: async () => (await call(projectListSchema, "GET", "/api/projects")).data,
    getProject: (id) => call(projectSchema, "GET", `/api/projects/${encodeURIComponent(id)}`),
    createKey: (body) => call(createdKeySchema, "POST", "/api/keys", body),
    listKeys: async (query) => {
      const params: Record<string, string> = {};
      if (query.project_id !== undefined) params.project_id = query.project_id;
      if (query.include_revoked === true) params.include_revoked = "true";
      return (await call(keyListSchema, "GET", "/api/keys", undefined, params)).data;
    },
    revokeKey: (id) => call(keySchema, "DELETE", key(id)),
    rotateKey: (id, body) => call(createdKeySchema, "POST", `${key(id)}/rotate`, body),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A problem+json (or OpenAI error object) answer as a KeelError with the server's code. */
function serverError(status: number, body: unknown, text: string): KeelError {
  const record = (body ?? {}) as Record<string, unknown>;
  const fields = (
    typeof record.error === "object" && record.error !== null ? record.error : record
  ) as Record<string, unknown>;
  const code: ErrorCode =
    typeof fields.code === "string" && Object.hasOwn(errorCatalog, fields.code)
      ? (fields.code as ErrorCode)
      : status >= 500
        ? "internal"
        : "invalid_request";
  const message =
    typeof fields.detail === "string"
      ? fields.detail
      : typeof fields.message === "string"
        ? fields.message
        : `HTTP ${status}: ${text.slice(0, 200)}`;
  return new KeelError(code, message, {
    status,
    ...(typeof fields.param === "string" ? { param: fields.param } : {}),
  });
}
