import { z } from "zod";
import type { TracesTable } from "../core/db/tables.ts";
import {
  attemptSchema,
  type TraceAttemptView,
  type TraceDetail,
  type TraceRecord,
  type TraceSummary,
} from "./schema.ts";

/**
 * The three shapes of a trace and the conversions between them: the `TraceRecord` the gateway
 * hands over, the stored row (epoch ms, 0/1 booleans, JSON as text) and the API views (ISO-8601
 * times, booleans, parsed JSON, dollars beside micro-dollars).
 */

export type BodyPolicy = "full" | "metadata";

/** Serializes a record for storage; throws when a body cannot be turned into JSON. */
export function toRow(record: TraceRecord, bodies: BodyPolicy): TracesTable {
  return {
    id: record.id,
    project_id: record.project_id,
    request_id: record.request_id,
    endpoint: record.endpoint,
    model: record.model,
    status: record.status,
    http_status: record.http_status,
    stream: record.stream ? 1 : 0,
    started_at: record.started_at,
    ended_at: record.ended_at,
    latency_ms: Math.max(0, Math.round(record.ended_at - record.started_at)),
    ttft_ms: record.ttft_ms === null ? null : Math.round(record.ttft_ms),
    prompt_tokens: record.prompt_tokens,
    completion_tokens: record.completion_tokens,
    tokens_estimated: record.tokens_estimated ? 1 : 0,
    cost_micros: Math.round(record.cost_micros),
    finish_reason: record.finish_reason,
    error_code: record.error_code,
    error_message: record.error_message,
    attempts: JSON.stringify(record.attempts),
    request_body: bodies === "full" ? jsonOrNull(record.request_body) : null,
    response_body: bodies === "full" ? jsonOrNull(record.response_body) : null,
    metadata: JSON.stringify(record.metadata),
  };
}

function jsonOrNull(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  return JSON.stringify(body);
}

/** The columns a list page reads: no bodies, attempts or metadata. */
export const summaryColumns = [
  "id",
  "project_id",
  "request_id",
  "endpoint",
  "model",
  "status",
  "http_status",
  "stream",
  "started_at",
  "ended_at",
  "latency_ms",
  "ttft_ms",
  "prompt_tokens",
  "completion_tokens",
  "tokens_estimated",
  "cost_micros",
  "finish_reason",
  "error_code",
  "error_message",
] as const satisfies readonly (keyof TracesTable)[];

export type SummaryRow = Pick<TracesTable, (typeof summaryColumns)[number]>;

export function toSummary(row: SummaryRow): TraceSummary {
  return {
    id: row.id,
    project_id: row.project_id,
    request_id: row.request_id,
    endpoint: row.endpoint as TraceSummary["endpoint"],
    model: row.model,
    status: row.status,
    http_status: row.http_status,
    stream: row.stream === 1,
    started_at: iso(row.started_at),
    ended_at: iso(row.ended_at),
    latency_ms: row.latency_ms,
    ttft_ms: row.ttft_ms,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    total_tokens: row.prompt_tokens + row.completion_tokens,
    tokens_estimated: row.tokens_estimated === 1,
    cost_micros: row.cost_micros,
    cost_usd: row.cost_micros / 1_000_000,
    finish_reason: row.finish_reason,
    error_code: row.error_code,
    error_message: row.error_message,
  };
}

const storedAttemptsSchema = z.array(attemptSchema);
const storedMetadataSchema = z.record(z.string(), z.unknown());

export function toDetail(row: TracesTable): TraceDetail {
  const attempts = storedAttemptsSchema.safeParse(parseStored(row.attempts));
  const metadata = storedMetadataSchema.safeParse(parseStored(row.metadata));
  return {
    ...toSummary(row),
    attempts: attempts.success ? attempts.data.map(attemptView) : [],
    request_body: row.request_body === null ? null : parseStored(row.request_body),
    response_body: row.response_body === null ? null : parseStored(row.response_body),
    metadata: metadata.success ? metadata.data : {},
  };
}

function attemptView(attempt: z.infer<typeof attemptSchema>): TraceAttemptView {
  return { ...attempt, started_at: iso(attempt.started_at) };
}

/** Stored JSON text back to a value; text that is not JSON comes back as the string itself. */
function parseStored(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
