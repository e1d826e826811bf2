import type { KeelError } from "../core/errors.ts";
import type { TraceRecord } from "../traces/schema.ts";
import type { Call } from "./call.ts";
import type { TokenCounts } from "./usage.ts";

/** How a call ended, as the gateway saw it. */
export interface CallResult {
  /** The status the client got (200 for a stream that started, even if it ended in error). */
  httpStatus: number;
  error: KeelError | undefined;
  tokens: TokenCounts;
  costMicros: number;
  finishReason: string | null;
  /** The client's request as validated (its own model name, every field it sent). */
  requestBody: unknown;
  /** The answer (a streamed one assembled into the non-streamed shape); null on error. */
  responseBody: unknown;
}

export function buildTrace(
  call: Call,
  result: CallResult,
  endedAt: number,
  keepBodies: boolean,
): TraceRecord {
  const error = result.error;
  return {
    id: call.traceId,
    project_id: call.identity.projectId,
    request_id: call.requestId,
    endpoint: call.endpoint,
    model: call.route.name,
    status: error === undefined ? "ok" : "error",
    http_status: result.httpStatus,
    stream: call.stream,
    started_at: call.startedAt,
    ended_at: endedAt,
    // Not streamed: the whole answer is the first token.
    ttft_ms: call.stream ? call.ttftMs : error === undefined ? endedAt - call.startedAt : null,
    prompt_tokens: result.tokens.prompt_tokens,
    completion_tokens: result.tokens.completion_tokens,
    tokens_estimated: result.tokens.estimated,
    cost_micros: result.costMicros,
    finish_reason: result.finishReason,
    error_code: error?.code ?? null,
    error_message: error?.message ?? null,
    attempts: call.attempts,
    request_body: keepBodies ? result.requestBody : null,
    response_body: keepBodies ? (result.responseBody ?? null) : null,
    metadata: traceMetadata(call),
  };
}

/** The user agent, the calling key, and what the guardrails decided (no detected values). */
function traceMetadata(call: Call): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  if (call.userAgent !== undefined) metadata.user_agent = call.userAgent;
  if (call.identity.keyId !== null) metadata.key_id = call.identity.keyId;
  if (call.guardrails.length > 0) metadata.guardrails = call.guardrails;
  return metadata;
}
