import type { Config } from "../core/config.ts";
import { normalizeError } from "../core/error-render.ts";
import { KeelError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { Metrics } from "../monitoring/metrics.ts";
import type { QuotaGuard } from "../quotas/index.ts";
import type { ProviderSet } from "../providers/registry.ts";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  Completion,
  CompletionChunk,
  CompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from "../providers/schema.ts";
import type { TraceEndpoint, TraceSink } from "../traces/schema.ts";
import { Call, type RequestMeta } from "./call.ts";
import { CallTracker, NO_TOKENS } from "./call-tracker.ts";
import { breakerStateValue } from "./circuit-breaker.ts";
import type { Deployment } from "./deployment.ts";
import { runWithFailover, type FailoverOptions } from "./failover.ts";
import { endpointKind, modelNotFound, wrongKind } from "./model-errors.ts";
import { readiness, type GatewayReadiness } from "./readiness.ts";
import {
  chatNeeds,
  completionNeeds,
  embeddingNeeds,
  upstreamStreamRequest,
} from "./request-needs.ts";
import {
  accountChat,
  accountCompletion,
  accountEmbedding,
  type Accounting,
} from "./response-accounting.ts";
import { buildRoutes } from "./router.ts";
import { ChatStreamAssembler, CompletionStreamAssembler } from "./stream-assembler.ts";
import {
  firstChunk,
  StreamSession,
  type ChunkAssembler,
  type StreamChunk,
} from "./stream-session.ts";
import { estimateChatPromptTokens, estimateCompletionPromptTokens } from "./usage.ts";

export interface GatewayDeps {
  config: Config;
  providers: ProviderSet;
  traces: TraceSink;
  metrics: Metrics;
  logger: Logger;
  /** Rate limits and budgets, checked before the upstream call and settled after it. */
  quotas?: QuotaGuard;
  /** Milliseconds clock for the circuit breakers (tests pass a fake one). */
  now?: () => number;
  /** Randomness for load balancing and backoff jitter (tests pass a fixed one). */
  random?: () => number;
}

export interface GatewayModel {
  id: string;
  kind: "chat" | "embedding";
  /** Epoch seconds (when the gateway started), as OpenAI's model list has it. */
  created: number;
}

/**
 * The gateway service: routes a validated request for a public model to its deployments
 * (failover, retries, circuit breaking), accounts for usage and cost, and records a trace and
 * metrics for every request that names a configured model. It knows nothing of HTTP; the
 * routes turn its answers and stream sessions into responses.
 */
export interface Gateway {
  /** Public model names with kind and creation time, for GET /v1/models. */
  models(): GatewayModel[];
  /** Whether `name` is a configured public model. */
  hasModel(name: string): boolean;
  /** Ready when every model has a deployment whose provider is healthy and breaker not open. */
  readiness(): Promise<GatewayReadiness>;
  /** Shutdown deadline: aborts every call in progress; open streams end with an error event. */
  abortAll(): void;
  chat(req: ChatRequest, meta: RequestMeta): Promise<ChatCompletion>;
  /** Fails over until a deployment yields its first chunk; throws when none does. */
  streamChat(req: ChatRequest, meta: RequestMeta): Promise<StreamSession<ChatCompletionChunk>>;
  completion(req: CompletionRequest, meta: RequestMeta): Promise<Completion>;
  streamCompletion(
    req: CompletionRequest,
    meta: RequestMeta,
  ): Promise<StreamSession<CompletionChunk>>;
  embed(req: EmbeddingRequest, meta: RequestMeta): Promise<EmbeddingResponse>;
  /** Records, as a failed trace, a request naming a configured model whose body was invalid. */
  rejected(
    endpoint: TraceEndpoint,
    model: string,
    body: unknown,
    error: unknown,
    meta: RequestMeta,
  ): void;
}

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, metrics } = deps;
  const random = deps.random ?? Math.random;
  const routes = buildRoutes(config.models, deps.providers, {
    now: deps.now ?? Date.now,
    random,
    onBreakerChange: (d, state) =>
      metrics.breakerState.set({ model: d.model, deployment: d.label }, breakerStateValue[state]),
  });
  for (const route of routes.values()) {
    for (const d of route.deployments) {
      metrics.breakerState.set({ model: d.model, deployment: d.label }, 0);
    }
  }
  const tracker = new CallTracker({
    traces: deps.traces,
    metrics,
    logger: deps.logger,
    keepBodies: config.traces.bodies === "full",
  });
  const created = Math.floor(Date.now() / 1000);
  const budgetMs = config.server.request_timeout_ms;
  const unary: FailoverOptions = { metrics, random, settleOnSuccess: true };
  const streamed: FailoverOptions = { metrics, random, settleOnSuccess: false };
  let shuttingDown = false;

  /** Starts following a request; an unknown model is a 404 and no trace. */
  const begin = (endpoint: TraceEndpoint, model: string, meta: RequestMeta, stream: boolean) => {
    const route = routes.get(model);
    if (route === undefined) throw modelNotFound(model, endpoint, routes);
    const call = new Call(meta, endpoint, route, stream, budgetMs);
    tracker.begin(call);
    if (shuttingDown) {
      call.abort(new KeelError("shutting_down", "the server is shutting down; retry the request"));
    }
    return call;
  };

  /** A begun call may go ahead when the model's kind fits the endpoint and Keel is up. */
  const admit = (call: Call): void => {
    if (call.signal.aborted) throw call.abortReason;
    if (call.route.kind !== endpointKind[call.endpoint]) {
      throw wrongKind(call.route, call.endpoint, routes);
    }
  };

  const fail = (call: Call, err: unknown, requestBody: unknown): KeelError => {
    const error = normalizeError(err);
    tracker.finish(call, {
      httpStatus: error.status,
      error,
      tokens: NO_TOKENS,
      finishReason: null,
      requestBody,
      responseBody: null,
    });
    return error;
  };

  const unaryCall = async <Res extends { model: string }>(
    endpoint: TraceEndpoint,
    req: { model: string },
    meta: RequestMeta,
    needs: number,
    invoke: (d: Deployment, signal: AbortSignal) => Promise<Res>,
    account: (res: Res) => Accounting,
  ): Promise<Res> => {
    const call = begin(endpoint, req.model, meta, false);
    try {
      admit(call);
      const { value } = await runWithFailover(call, needs, invoke, unary);
      value.model = call.route.name;
      const { tokens, finishReason, body } = account(value);
      tracker.finish(call, {
        httpStatus: 200,
        error: undefined,
        tokens,
        finishReason,
        requestBody: req,
        responseBody: body,
      });
      return value;
    } catch (err) {
      throw fail(call, err, req);
    }
  };

  const streamCall = async <C extends StreamChunk>(
    endpoint: TraceEndpoint,
    req: ChatRequest | CompletionRequest,
    meta: RequestMeta,
    needs: number,
    open: (d: Deployment, signal: AbortSignal) => AsyncIterable<C>,
    assembler: ChunkAssembler<C>,
    estimatePrompt: () => number,
  ): Promise<StreamSession<C>> => {
    const call = begin(endpoint, req.model, meta, true);
    try {
      admit(call);
      const opened = (d: Deployment, signal: AbortSignal) => firstChunk(open(d, signal));
      const { value, attempt } = await runWithFailover(call, needs, opened, streamed);
      return new StreamSession({
        call,
        attempt,
        iterator: value.iterator,
        first: value.first,
        assembler,
        forwardUsage: req.stream_options?.include_usage === true,
        requestBody: req,
        estimatePrompt,
        tracker,
      });
    } catch (err) {
      throw fail(call, err, req);
    }
  };

  return {
    models: () => [...routes.values()].map((r) => ({ id: r.name, kind: r.kind, created })),
    hasModel: (name) => routes.has(name),
    readiness: () => readiness(routes.values()),

    abortAll: () => {
      shuttingDown = true;
      tracker.abortAll(
        new KeelError("shutting_down", "the server is shutting down; the answer was cut short"),
      );
    },

    chat: (req, meta) =>
      unaryCall(
        "chat.completions",
        req,
        meta,
        chatNeeds(req),
        (d, signal) => d.provider.chat({ ...req, model: d.upstreamModel }, { signal }),
        (res) => accountChat(req, res),
      ),

    streamChat: (req, meta) => {
      const upstream = upstreamStreamRequest(req);
      return streamCall(
        "chat.completions",
        req,
        meta,
        chatNeeds(req),
        (d, signal) => d.provider.stream({ ...upstream, model: d.upstreamModel }, { signal }),
        new ChatStreamAssembler(tracker.keepBodies),
        () => estimateChatPromptTokens(req),
      );
    },

    // Deployments without completion()/streamCompletion()/embed() never get these requests:
    // the router only picks deployments whose provider has the capability (deployment.ts).
    completion: (req, meta) =>
      unaryCall(
        "completions",
        req,
        meta,
        completionNeeds(req, false),
        (d, signal) => d.provider.completion!({ ...req, model: d.upstreamModel }, { signal }),
        (res) => accountCompletion(req, res),
      ),

    streamCompletion: (req, meta) => {
      const upstream = upstreamStreamRequest(req);
      return streamCall(
        "completions",
        req,
        meta,
        completionNeeds(req, true),
        (d, signal) =>
          d.provider.streamCompletion!({ ...upstream, model: d.upstreamModel }, { signal }),
        new CompletionStreamAssembler(tracker.keepBodies),
        () => estimateCompletionPromptTokens(req),
      );
    },

    embed: (req, meta) =>
      unaryCall(
        "embeddings",
        req,
        meta,
        embeddingNeeds,
        (d, signal) => d.provider.embed!({ ...req, model: d.upstreamModel }, { signal }),
        (res) => accountEmbedding(req, res),
      ),

    rejected: (endpoint, model, body, error, meta) => {
      const route = routes.get(model);
      if (route === undefined) return;
      const stream = (body as { stream?: unknown } | null)?.stream === true;
      const call = new Call(meta, endpoint, route, stream, 0);
      tracker.begin(call);
      fail(call, error, body);
    },
  };
}
