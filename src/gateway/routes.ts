import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { assertModelAllowed, identityOf } from "../auth/index.ts";
import { parseInput } from "../core/error-render.ts";
import { KeelError } from "../core/errors.ts";
import { newId } from "../core/ids.ts";
import type { FastCheck } from "../providers/openai-fast-checks.ts";
import {
  isPlainChatRequest,
  isPlainCompletionRequest,
  isPlainEmbeddingRequest,
} from "../providers/request-fast-checks.ts";
import {
  chatRequestSchema,
  completionRequestSchema,
  embeddingRequestSchema,
} from "../providers/schema.ts";
import type { TraceEndpoint } from "../traces/schema.ts";
import type { RequestMeta } from "./call.ts";
import type { Gateway } from "./gateway.ts";
import { SseWriter } from "./sse-writer.ts";
import type { StreamChunk, StreamSession } from "./stream-session.ts";

/**
 * The OpenAI-compatible HTTP surface: POST /v1/chat/completions, /v1/completions and
 * /v1/embeddings (JSON or server-sent events), GET /v1/models and /v1/models/{id}. Handlers
 * validate, call the gateway and return; errors are thrown and rendered by the server's one
 * error handler as OpenAI error objects. Every request that names a configured model carries
 * its trace id in `x-keel-trace-id`. A key limited to some models sees only those in the list
 * and gets 403 `forbidden` for any other name, configured or not.
 */
export const gatewayRoutes: FastifyPluginAsync<{ gateway: Gateway }> = (app, { gateway }) => {
  app.post(
    "/v1/chat/completions",
    { config: { permission: "models:invoke" } },
    async (request, reply) => {
      const meta = requestMeta(request, reply, gateway);
      const req = parseBody(gateway, chatRequestSchema, "chat.completions", request.body, meta);
      if (req.stream === true) return relay(reply, await gateway.streamChat(req, meta));
      return gateway.chat(req, meta);
    },
  );

  app.post(
    "/v1/completions",
    { config: { permission: "models:invoke" } },
    async (request, reply) => {
      const meta = requestMeta(request, reply, gateway);
      const req = parseBody(gateway, completionRequestSchema, "completions", request.body, meta);
      if (req.stream === true) return relay(reply, await gateway.streamCompletion(req, meta));
      return gateway.completion(req, meta);
    },
  );

  app.post(
    "/v1/embeddings",
    { config: { permission: "models:invoke" } },
    async (request, reply) => {
      const meta = requestMeta(request, reply, gateway);
      const req = parseBody(gateway, embeddingRequestSchema, "embeddings", request.body, meta);
      return gateway.embed(req, meta);
    },
  );

  app.get("/v1/models", { config: { permission: "models:invoke" } }, (request) => ({
    object: "list",
    data: gateway.models(identityOf(request)).map((m) => modelObject(m.id, m.created)),
  }));

  // A wildcard, so that ids with "/" (org/model) resolve whether or not the client encoded it.
  app.get(
    "/v1/models/*",
    { config: { permission: "models:invoke" } },
    (request: FastifyRequest<{ Params: { "*": string } }>) => {
      const id = request.params["*"];
      const identity = identityOf(request);
      assertModelAllowed(identity, id);
      const models = gateway.models(identity);
      const model = models.find((m) => m.id === id);
      if (model === undefined) {
        const known = models.map((m) => m.id);
        throw new KeelError(
          "model_not_found",
          `model "${id}" does not exist; available models: ${known.join(", ") || "none"}`,
          { param: "model" },
        );
      }
      return modelObject(model.id, model.created);
    },
  );

  return Promise.resolve();
};

function modelObject(id: string, created: number) {
  return { id, object: "model" as const, created, owned_by: "keel" };
}

function modelField(body: unknown): string | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const model = (body as { model?: unknown }).model;
  return typeof model === "string" ? model : undefined;
}

/**
 * The request's facts for the gateway, and an abort signal that fires when the client goes
 * away before its answer is complete (so the upstream call is cancelled too). A model the key
 * may not use is refused (403) here, before the body is validated or anything is traced.
 */
function requestMeta(request: FastifyRequest, reply: FastifyReply, gateway: Gateway): RequestMeta {
  const identity = identityOf(request);
  const traceId = newId("trace");
  const model = modelField(request.body);
  if (model !== undefined) assertModelAllowed(identity, model);
  if (model !== undefined && gateway.hasModel(model)) reply.header("x-keel-trace-id", traceId);
  const controller = new AbortController();
  const res = reply.raw;
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return {
    traceId,
    requestId: request.id,
    userAgent: request.headers["user-agent"],
    signal: controller.signal,
    identity,
  };
}

/** Each endpoint's check of the common bodies, which its schema would pass unchanged. */
const plainBody: Record<TraceEndpoint, FastCheck> = {
  "chat.completions": isPlainChatRequest,
  completions: isPlainCompletionRequest,
  embeddings: isPlainEmbeddingRequest,
};

/**
 * Validates a body; an invalid one for a configured model is still traced. A common one goes
 * on as the client's object itself: nothing downstream modifies a request (the guardrails and
 * providers make copies), so it serves as well as zod's copy.
 */
function parseBody<T extends z.ZodType>(
  gateway: Gateway,
  schema: T,
  endpoint: TraceEndpoint,
  body: unknown,
  meta: RequestMeta,
): z.infer<T> {
  if (plainBody[endpoint](body)) return body as z.infer<T>;
  try {
    return parseInput(schema, body);
  } catch (err) {
    const model = modelField(body);
    if (model !== undefined) gateway.rejected(endpoint, model, body, err, meta);
    throw err;
  }
}

/**
 * Sends a stream that already has its first chunk. From here on the response is Keel's to
 * write: headers now (with those set so far: request and trace ids), then the events.
 */
async function relay<C extends StreamChunk>(
  reply: FastifyReply,
  session: StreamSession<C>,
): Promise<void> {
  reply.hijack();
  const headers = { ...reply.getHeaders(), "x-content-type-options": "nosniff" };
  await session.pipeTo(new SseWriter(reply.raw, headers));
}
