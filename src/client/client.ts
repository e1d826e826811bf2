import { Agent } from "undici";
import { z } from "zod";
import { clientSettings, type Env } from "../core/config.ts";
import { KeelError } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";
import { readinessSchema, type Readiness } from "../monitoring/index.ts";
import type { ChatMessage } from "../providers/index.ts";
// The one SSE reader in Keel; a pure module, imported directly to keep the CLI off the
// provider registry (and its model runtimes) that providers/index.ts loads.
import { readSse } from "../providers/sse.ts";
import {
  traceDetailSchema,
  traceListSchema,
  type TraceDetail,
  type TraceList,
} from "../traces/index.ts";
import { createTransport, errorFromBody, parseJson } from "./transport.ts";

/**
 * The typed client for a running Keel: what the CLI uses and what scripts may use. Answers
 * are checked against the same zod schemas the server renders with; failures are KeelErrors
 * carrying the server's code and message.
 */
export interface ClientOptions {
  /** `http://127.0.0.1:4141` */
  baseUrl: string;
  apiKey?: Secret | undefined;
}

export interface TraceListParams {
  model?: string | undefined;
  status?: "ok" | "error" | undefined;
  /** ISO-8601, epoch ms or a Date. */
  since?: string | number | Date | undefined;
  until?: string | number | Date | undefined;
  limit?: number | undefined;
  /** `next_cursor` from the previous page. */
  cursor?: string | undefined;
}

export interface ChatOptions {
  max_tokens?: number | undefined;
  temperature?: number | undefined;
}

export interface KeelClient {
  readonly baseUrl: string;
  listTraces(params?: TraceListParams): Promise<TraceList>;
  getTrace(id: string): Promise<TraceDetail>;
  /** Streams a chat completion; yields the content deltas as they arrive. */
  chatStream(
    model: string,
    messages: ChatMessage[],
    signal?: AbortSignal,
    options?: ChatOptions,
  ): AsyncIterable<string>;
  /** The server's readiness report (`/readyz`), ready or not. */
  health(): Promise<Readiness>;
}

/** The part of a streamed chunk the client reads; the rest passes by. */
const streamEventSchema = z.looseObject({
  choices: z
    .array(z.looseObject({ delta: z.looseObject({ content: z.string().nullish() }).nullish() }))
    .optional(),
  error: z.looseObject({}).optional(),
});

export function createClient(options: ClientOptions): KeelClient {
  const transport = createTransport(options);

  async function* chatStream(
    model: string,
    messages: ChatMessage[],
    signal?: AbortSignal,
    chat: ChatOptions = {},
  ): AsyncGenerator<string> {
    const body = {
      model,
      messages,
      stream: true,
      ...(chat.max_tokens === undefined ? {} : { max_tokens: chat.max_tokens }),
      ...(chat.temperature === undefined ? {} : { temperature: chat.temperature }),
    };
    // A connection of its own, closed with the stream: aborting a streamed response in
    // undici's shared pool leaves a spare, never-used connection open to the server
    // (nodejs/undici#5845), which holds up the server's graceful shutdown.
    const agent = new Agent();
    let finished = false;
    try {
      const res = await transport.send("POST", "/v1/chat/completions", {
        body,
        signal,
        dispatcher: agent,
      });
      try {
        for await (const event of readSse(res.body)) {
          if (event.data === "[DONE]") {
            finished = true;
            return;
          }
          const parsed = streamEventSchema.safeParse(parseJson(event.data));
          if (event.event === "error" || (parsed.success && parsed.data.error !== undefined)) {
            throw errorFromBody(502, event.data, res.url);
          }
          if (!parsed.success) {
            throw new KeelError("provider_error", `malformed stream event from ${res.url}`);
          }
          const content = parsed.data.choices?.[0]?.delta?.content;
          if (content !== undefined && content !== null && content !== "") yield content;
        }
        throw new KeelError(
          "provider_error",
          `the stream from ${res.url} ended before it finished`,
        );
      } finally {
        if (!finished) res.body.destroy();
      }
    } finally {
      await agent.destroy().catch(() => undefined);
    }
  }

  return {
    baseUrl: transport.baseUrl,
    listTraces: (params = {}) =>
      transport.json(traceListSchema, "GET", "/api/traces", { query: traceQuery(params) }),
    getTrace: (id) =>
      transport.json(traceDetailSchema, "GET", `/api/traces/${encodeURIComponent(id)}`),
    chatStream,
    health: () => transport.json(readinessSchema, "GET", "/readyz", { okStatuses: [503] }),
  };
}

/**
 * A client for the server at `url`, else KEEL_URL, else http://127.0.0.1:4141, with the key
 * from KEEL_API_KEY: what the `keel` client commands use.
 */
export function connect(url: string | undefined, env?: Env): KeelClient {
  const settings = clientSettings(env);
  return createClient({ baseUrl: url ?? settings.url, apiKey: settings.apiKey });
}

function traceQuery(params: TraceListParams): Record<string, string> {
  const query: Record<string, string> = {};
  if (params.model !== undefined) query.model = params.model;
  if (params.status !== undefined) query.status = params.status;
  if (params.since !== undefined) query.since = timeParam(params.since);
  if (params.until !== undefined) query.until = timeParam(params.until);
  if (params.limit !== undefined) query.limit = String(params.limit);
  if (params.cursor !== undefined) query.cursor = params.cursor;
  return query;
}

function timeParam(value: string | number | Date): string {
  return value instanceof Date ? value.toISOString() : String(value);
}
