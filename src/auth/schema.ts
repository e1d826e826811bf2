import { z } from "zod";
import { limitsSchema } from "../quotas/schema.ts";
import { roles } from "./permissions.ts";

/**
 * The auth contract: the `auth:` config section, and the bodies and answers of the projects
 * and keys API, shared by the routes, the CLI and tests. Times are ISO-8601 here, epoch ms in
 * storage.
 */

export const DEFAULT_KEY_CACHE_MS = 60_000;
export const DEFAULT_REVOCATION_CHECK_MS = 1_000;

export const authConfigSchema = z
  .object({
    /** Off only for local experiments: every request then acts as a global owner. */
    enabled: z.boolean().default(true),
    /** `/metrics` without a key; when false it needs a key with `metrics:read`. */
    metrics_public: z.boolean().default(true),
    /**
     * How long a verified key may be reused from memory without reading its row, at most an
     * hour; 0 reads the key's row on every request. Revoking or rotating a key drops it at
     * once on the replica that did it; other replicas notice within `revocation_check_ms`.
     * Expiry is checked on every request either way.
     */
    key_cache_ms: z.number().int().min(0).max(3_600_000).default(DEFAULT_KEY_CACHE_MS),
    /**
     * How often a replica with cached keys asks storage whether any key was revoked or
     * rotated since (one small read, shared by all requests): the longest a revocation made
     * on another replica can go unnoticed here. 0 asks on every request.
     */
    revocation_check_ms: z.number().int().min(0).max(60_000).default(DEFAULT_REVOCATION_CHECK_MS),
  })
  .strict();

export type AuthConfig = z.infer<typeof authConfigSchema>;

export const roleSchema = z.enum(roles);

const isoTime = z.iso.datetime({ offset: true });
/** An ISO time as epoch ms; the service checks it lies in the future. */
const epochTime = isoTime.transform((value) => Date.parse(value));

const idSchema = z.string().min(1).max(64);

export const projectNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    "expected 1 to 64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

export const projectCreateSchema = z.strictObject({
  name: projectNameSchema,
  limits: limitsSchema.optional(),
});

export const projectSchema = z.object({
  id: z.string(),
  name: z.string(),
  limits: limitsSchema.nullable(),
  created_at: isoTime,
});

export const projectListSchema = z.object({ data: z.array(projectSchema) });

export const modelListSchema = z
  .array(z.string().min(1).max(200))
  .min(1, "list at least one model, or leave models out to allow every model")
  .max(100);

export const keyCreateSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  role: roleSchema,
  /** Absent: the caller's project, or a global key when an owner asks. */
  project_id: idSchema.optional(),
  /** Models the key may call; absent means every model the caller may call. */
  models: modelListSchema.optional(),
  limits: limitsSchema.optional(),
  expires_at: epochTime.optional(),
});

export const keyRotateSchema = z.strictObject({
  /**
   * How long the old key keeps working beside the new one, up to 7 days. 0 (default) revokes
   * it at once; otherwise its expiry is brought forward to now + grace.
   */
  grace_seconds: z.number().int().min(0).max(604_800).default(0),
  /** The new key's expiry: absent keeps the old key's, null removes it. */
  expires_at: epochTime.nullable().optional(),
});

export const keyStatusSchema = z.enum(["active", "expired", "revoked"]);

/** A key as listed: never the key itself, never its hash. */
export const keySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  role: roleSchema,
  project_id: z.string().nullable(),
  models: z.array(z.string()).nullable(),
  limits: limitsSchema.nullable(),
  status: keyStatusSchema,
  created_at: isoTime,
  expires_at: isoTime.nullable(),
  revoked_at: isoTime.nullable(),
  last_used_at: isoTime.nullable(),
  rotated_from: z.string().nullable(),
});

/** The answer to create and rotate: the only time `key` is ever shown. */
export const createdKeySchema = keySchema.extend({ key: z.string() });

export const keyListSchema = z.object({ data: z.array(keySchema) });

export const keyListQuerySchema = z.strictObject({
  project_id: idSchema.optional(),
  include_revoked: z.enum(["true", "false"]).default("false"),
});

export const idParamsSchema = z.object({ id: idSchema });

export type ProjectCreate = z.infer<typeof projectCreateSchema>;
export type Project = z.infer<typeof projectSchema>;
export type ProjectList = z.infer<typeof projectListSchema>;
export type KeyCreate = z.infer<typeof keyCreateSchema>;
export type KeyRotate = z.infer<typeof keyRotateSchema>;
export type KeyStatus = z.infer<typeof keyStatusSchema>;
export type KeyView = z.infer<typeof keySchema>;
export type CreatedKey = z.infer<typeof createdKeySchema>;
export type KeyList = z.infer<typeof keyListSchema>;
export type KeyListQuery = z.infer<typeof keyListQuerySchema>;
