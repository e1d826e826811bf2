import { z } from "zod";

/**
 * The audit log's contract: what Keel code appends, what the API and the CLI read back.
 * An entry records who (actor key id, project, ip, user agent), what (action, resource),
 * when, and the outcome; it never holds a credential (see redact.ts).
 */

export const auditOutcomeSchema = z.enum(["success", "denied", "error"]);

export const auditActionSchema = z
  .string()
  .max(100)
  .regex(
    /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/,
    "an action is dotted lower-case words, like keys.create or model.invoke",
  );

/** One event to append. Times are epoch ms; `at` defaults to the time of the append call. */
export const auditEventSchema = z.object({
  action: auditActionSchema,
  outcome: auditOutcomeSchema,
  actor_key_id: z.string().nullish(),
  project_id: z.string().nullish(),
  ip: z.string().nullish(),
  user_agent: z.string().nullish(),
  resource_type: z.string().nullish(),
  resource_id: z.string().nullish(),
  status_code: z.number().int().min(100).max(599).nullish(),
  details: z.record(z.string(), z.unknown()).optional(),
  at: z.number().int().nonnegative().optional(),
});

export type AuditEvent = z.input<typeof auditEventSchema>;
export type AuditOutcome = z.infer<typeof auditOutcomeSchema>;

/** An entry as the API returns and exports it. */
export const auditEntrySchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  created_at: z.string(),
  actor_key_id: z.string().nullable(),
  project_id: z.string().nullable(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  action: z.string(),
  resource_type: z.string().nullable(),
  resource_id: z.string().nullable(),
  outcome: z.string(),
  status_code: z.number().int().nullable(),
  details: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});

export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditPageSchema = z.object({
  data: z.array(auditEntrySchema),
  next_cursor: z.string().nullable(),
});

export type AuditPage = z.infer<typeof auditPageSchema>;

export const chainBreakReasonSchema = z.enum([
  "hash_mismatch",
  "prev_mismatch",
  "seq_gap",
  "malformed",
]);

export const chainBreakSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  reason: chainBreakReasonSchema,
  message: z.string(),
});

export type ChainBreak = z.infer<typeof chainBreakSchema>;

export const auditVerifyResultSchema = z.object({
  ok: z.boolean(),
  /** Entries walked. */
  entries: z.number().int(),
  /** The last entry: record it elsewhere to detect a later truncation of the log's tail. */
  head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
  first_bad: chainBreakSchema.optional(),
});

export type AuditVerifyResult = z.infer<typeof auditVerifyResultSchema>;

const isoTime = z
  .string()
  .pipe(
    z.iso.datetime({
      offset: true,
      message: "expected an ISO-8601 time such as 2026-01-31T12:00:00Z",
    }),
  )
  .transform((value) => Date.parse(value));

const filterFields = {
  action: z.string().min(1).max(100).optional(),
  actor_key_id: z.string().min(1).max(200).optional(),
  project_id: z.string().min(1).max(200).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
};

export const auditListQuerySchema = z
  .object({
    ...filterFields,
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,14}$/, "expected the next_cursor of a previous page")
      .optional(),
  })
  .strict();

export const auditExportQuerySchema = z
  .object({
    ...filterFields,
    format: z.literal("jsonl", { message: 'the only export format is "jsonl"' }).default("jsonl"),
  })
  .strict();

export type AuditListQuery = z.infer<typeof auditListQuerySchema>;
export type AuditExportQuery = z.infer<typeof auditExportQuerySchema>;

/** Filters shared by listing and export; times in epoch ms, both bounds inclusive. */
export interface AuditFilter {
  action?: string | undefined;
  actor_key_id?: string | undefined;
  project_id?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}
