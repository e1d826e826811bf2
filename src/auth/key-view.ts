import { z } from "zod";
import { KeelError } from "../core/errors.ts";
import { limitsSchema, type Limits } from "../quotas/schema.ts";
import type { Role } from "./permissions.ts";
import { roleSchema, type KeyStatus, type KeyView, type Project } from "./schema.ts";
import type { KeyRow, ProjectRow } from "./store.ts";

/** Stored rows to API answers: JSON columns parsed, times to ISO, the hash left behind. */

export function toProjectView(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    limits: parseLimits(row.limits, `projects.limits (row ${row.id})`),
    created_at: new Date(row.created_at).toISOString(),
  };
}

export function keyStatus(row: KeyRow, now: number): KeyStatus {
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at !== null && row.expires_at <= now) return "expired";
  return "active";
}

export function toKeyView(row: KeyRow, now: number): KeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: rowRole(row),
    project_id: row.project_id,
    models: rowModels(row),
    limits: parseLimits(row.limits, `api_keys.limits (row ${row.id})`),
    status: keyStatus(row, now),
    created_at: iso(row.created_at),
    expires_at: isoOrNull(row.expires_at),
    revoked_at: isoOrNull(row.revoked_at),
    last_used_at: isoOrNull(row.last_used_at),
    rotated_from: row.rotated_from,
  };
}

export function rowRole(row: KeyRow): Role {
  const parsed = roleSchema.safeParse(row.role);
  if (!parsed.success) {
    throw new KeelError("internal", `api_keys.role (row ${row.id}) holds an unknown role`);
  }
  return parsed.data;
}

const modelsColumnSchema = z.array(z.string()).nullable();

export function rowModels(row: KeyRow): string[] | null {
  return parseColumn(modelsColumnSchema, row.models, `api_keys.models (row ${row.id})`);
}

function parseLimits(text: string | null, where: string): Limits | null {
  return parseColumn(limitsSchema.nullable(), text, where);
}

function parseColumn<T extends z.ZodType>(
  schema: T,
  text: string | null,
  where: string,
): z.infer<T> {
  if (text === null) return schema.parse(null);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new KeelError("internal", `${where} is not valid stored JSON`);
  return parsed.data;
}

export function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
