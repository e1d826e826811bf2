import {
  createdKeySchema,
  keyListSchema,
  keySchema,
  projectListSchema,
  projectSchema,
  type CreatedKey,
  type KeyView,
  type Project,
} from "../auth/index.ts";
import { clientSettings, type Env } from "../core/config.ts";
import { KeelError } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";
import { createTransport } from "./transport.ts";

/**
 * The projects and keys API over HTTP, for `keel projects` and `keel keys`. Answers are
 * checked against the schemas the server renders with; a server error keeps its code and
 * message. Every call needs an API key: without one it fails before reaching the network.
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

export function createAuthClient(options: {
  baseUrl: string;
  apiKey: Secret | undefined;
}): AuthClient {
  const transport = createTransport(options);
  const keyed = () => {
    if (options.apiKey === undefined) {
      throw new KeelError("unauthorized", "no API key: set KEEL_API_KEY to a key (sk-keel-…)");
    }
    return transport;
  };
  const key = (id: string) => `/api/keys/${encodeURIComponent(id)}`;

  return {
    createProject: async (body) => keyed().json(projectSchema, "POST", "/api/projects", { body }),
    listProjects: async () => (await keyed().json(projectListSchema, "GET", "/api/projects")).data,
    getProject: async (id) =>
      keyed().json(projectSchema, "GET", `/api/projects/${encodeURIComponent(id)}`),
    createKey: async (body) => keyed().json(createdKeySchema, "POST", "/api/keys", { body }),
    listKeys: async (params) => {
      const query: Record<string, string> = {};
      if (params.project_id !== undefined) query.project_id = params.project_id;
      if (params.include_revoked === true) query.include_revoked = "true";
      return (await keyed().json(keyListSchema, "GET", "/api/keys", { query })).data;
    },
    revokeKey: async (id) => keyed().json(keySchema, "DELETE", key(id)),
    rotateKey: async (id, body) =>
      keyed().json(createdKeySchema, "POST", `${key(id)}/rotate`, { body }),
  };
}

/**
 * The projects and keys client for the server at `url`, else KEEL_URL, else
 * http://127.0.0.1:4141, with the key from KEEL_API_KEY.
 */
export function connectAuth(url: string | undefined, env?: Env): AuthClient {
  const settings = clientSettings(env);
  return createAuthClient({ baseUrl: url ?? settings.url, apiKey: settings.apiKey });
}
