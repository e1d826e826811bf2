import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely, Selectable } from "kysely";
import type { Database, TracesTable } from "../../src/core/db/tables.ts";

/**
 * Projects, scoped keys and trace rows for end-to-end tests, through the HTTP API (with the
 * global owner key) and, for traces, the database itself.
 */

export interface TenantApi {
  url: string;
  headers: { authorization: string };
}

export async function createProject(
  api: TenantApi,
  name: string,
  limits?: Record<string, number>,
): Promise<string> {
  const res = await fetch(`${api.url}/api/projects`, {
    method: "POST",
    headers: { ...api.headers, "content-type": "application/json" },
    body: JSON.stringify(limits === undefined ? { name } : { name, limits }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

export async function createKey(
  api: TenantApi,
  body: {
    project_id?: string;
    models?: string[];
    limits?: Record<string, number>;
    role?: string;
  },
): Promise<{ id: string; key: string }> {
  const res = await fetch(`${api.url}/api/keys`, {
    method: "POST",
    headers: { ...api.headers, "content-type": "application/json" },
    body: JSON.stringify({ name: "test key", role: "service", ...body }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { id: string; key: string };
}

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}

/** What a /v1 call answered: the status, headers, raw body and, on failure, the error. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The raw body (the events, for a stream). */
  text: string;
  /** OpenAI's error object, when the body is one. */
  error: { code: string; message: string; type: string } | undefined;
}

/** POSTs a JSON body to a /v1 route with a key. */
export async function post(url: string, key: string, body: unknown): Promise<Answer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...bearer(key), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let error: Answer["error"];
  if (!res.headers.get("content-type")?.startsWith("text/event-stream")) {
    error = (JSON.parse(text) as { error?: Answer["error"] }).error;
  }
  return { status: res.status, headers: res.headers, text, error };
}

export type TraceRow = Selectable<TracesTable>;

/** The trace row with that id, waiting (bounded) for the writer's batch to land. */
export async function traceRow(db: Kysely<Database>, id: string): Promise<TraceRow> {
  for (let i = 0; i < 100; i++) {
    const row = await db.selectFrom("traces").selectAll().where("id", "=", id).executeTakeFirst();
    if (row !== undefined) return row;
    await sleep(20);
  }
  throw new Error(`trace ${id} was not written within 2 s`);
}
