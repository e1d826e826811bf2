import { z } from "zod";

/**
 * A trace is one `/v1` request as Keel saw it: what was asked, every deployment tried and how
 * each attempt ended, what came back, how long it took, what it cost. The gateway builds a
 * `TraceRecord` and hands it to a `TraceSink`; the sink writes it off the request path.
 */

export const attemptOutcomeSchema = z.enum([
  "ok",
  "error",
  "timeout",
  "rate_limited",
  "aborted",
  "circuit_open",
]);

export const attemptSchema = z.object({
  /** `provider/upstream-model`, the deployment's stable label. */
  deployment: z.string(),
  provider: z.string(),
  upstream_model: z.string(),
  started_at: z.number().int(),
  latency_ms: z.number().int().nonnegative(),
  outcome: attemptOutcomeSchema,
  http_status: z.number().int().optional(),
  error_code: z.string().optional(),
  error_message: z.string().optional(),
});

export const traceEndpointSchema = z.enum(["chat.completions", "completions", "embeddings"]);

export interface TraceRecord {
  id: string;
  project_id: string | null;
  request_id: string;
  endpoint: z.infer<typeof traceEndpointSchema>;
  /** The public model name the client asked for. */
  model: string;
  status: "ok" | "error";
  http_status: number;
  stream: boolean;
  started_at: number;
  ended_at: number;
  /** Milliseconds to the first streamed content byte (or the whole answer when not streamed). */
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  /** True when Keel counted tokens itself because the provider reported no usage. */
  tokens_estimated: boolean;
  cost_micros: number;
  finish_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  attempts: Attempt[];
  /** Stored only when `traces.bodies` is `full`. */
  request_body: unknown;
  response_body: unknown;
  metadata: Record<string, unknown>;
}

export type Attempt = z.infer<typeof attemptSchema>;
export type AttemptOutcome = z.infer<typeof attemptOutcomeSchema>;
export type TraceEndpoint = z.infer<typeof traceEndpointSchema>;

/** Where the gateway hands finished traces. Must never block or throw. */
export interface TraceSink {
  enqueue(trace: TraceRecord): void;
}

/*
 * The traces API: query parameters and responses. The routes, the typed client and the CLI
 * share these schemas. Times are ISO-8601 (UTC) here, epoch milliseconds in storage.
 */

const TRACE_ID = /^trc_[0-9A-HJKMNP-TV-Z]{26}$/;

const timeHint = "expected an ISO-8601 time with a zone (2026-01-31T12:00:00Z), a date or epoch ms";
const isoDateTime = z.iso.datetime({ offset: true });
const isoDate = z.iso.date();

/**
 * `since`/`until`: ISO-8601 (date-times need Z or an offset) or epoch milliseconds. They select
 * by when Keel received the request (which a trace id encodes): since inclusive, until not.
 */
export const timeParamSchema = z.string().transform((value, ctx) => {
  const text = value.trim();
  const ms = /^\d{1,15}$/.test(text)
    ? Number(text)
    : isoDateTime.safeParse(text).success || isoDate.safeParse(text).success
      ? Date.parse(text)
      : Number.NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: `${timeHint}, got "${value}"` });
    return z.NEVER;
  }
  return ms;
});

/** The opaque pagination cursor: base64url of the last trace id of the previous page. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, "utf8").toString("base64url");
}

export const cursorParamSchema = z.string().transform((value, ctx) => {
  const id = Buffer.from(value, "base64url").toString("utf8");
  if (!TRACE_ID.test(id)) {
    ctx.addIssue({
      code: "custom",
      message: "not a cursor Keel issued: pass next_cursor from the previous page unchanged",
    });
    return z.NEVER;
  }
  return id;
});

const limitHint = "expected an integer from 1 to 200";

export const traceListQuerySchema = z
  .strictObject({
    model: z.string().min(1).max(200).optional(),
    /** A global key's filter; a project key always sees only its own project. */
    project_id: z.string().min(1).max(200).optional(),
    status: z.enum(["ok", "error"]).optional(),
    since: timeParamSchema.optional(),
    until: timeParamSchema.optional(),
    limit: z
      .string()
      .regex(/^\d{1,3}$/, limitHint)
      .transform(Number)
      .pipe(z.number().int().min(1, limitHint).max(200, limitHint))
      .default(50),
    cursor: cursorParamSchema.optional(),
  })
  .refine((q) => q.since === undefined || q.until === undefined || q.since < q.until, {
    message: "since must be earlier than until",
    path: ["since"],
  });

/** The parsed query: times in epoch ms, the cursor decoded to the last id seen. */
export type TraceListQuery = z.infer<typeof traceListQuerySchema>;

export const traceIdParamsSchema = z.object({ id: z.string().min(1).max(200) });

const isoTime = z.iso.datetime({ offset: true });

export const traceAttemptViewSchema = attemptSchema.extend({ started_at: isoTime });

/** One row of `GET /api/traces`: everything but the bodies, attempts and metadata. */
export const traceSummarySchema = z.object({
  id: z.string(),
  project_id: z.string().nullable(),
  request_id: z.string(),
  endpoint: traceEndpointSchema,
  model: z.string(),
  status: z.enum(["ok", "error"]),
  http_status: z.number().int(),
  stream: z.boolean(),
  started_at: isoTime,
  ended_at: isoTime,
  latency_ms: z.number().int(),
  ttft_ms: z.number().int().nullable(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  tokens_estimated: z.boolean(),
  cost_micros: z.number().int(),
  /** `cost_micros` in dollars, for people; sums belong on `cost_micros`. */
  cost_usd: z.number(),
  finish_reason: z.string().nullable(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
});

/** `GET /api/traces/:id`: the summary plus attempts, bodies and metadata. */
export const traceDetailSchema = traceSummarySchema.extend({
  attempts: z.array(traceAttemptViewSchema),
  request_body: z.unknown(),
  response_body: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
});

export const traceListSchema = z.object({
  data: z.array(traceSummarySchema),
  next_cursor: z.string().nullable(),
});

export type TraceAttemptView = z.infer<typeof traceAttemptViewSchema>;
export type TraceSummary = z.infer<typeof traceSummarySchema>;
export type TraceDetail = z.infer<typeof traceDetailSchema>;
export type TraceList = z.infer<typeof traceListSchema>;
