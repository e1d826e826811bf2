import { assertModelAllowed, visibleModels, type Identity } from "../auth/index.ts";
import type { Config } from "../core/config.ts";
import type { MasterKey } from "../core/crypto.ts";
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
import {
  chatSpec,
  chatStreamSpec,
  completionSpec,
  completionStreamSpec,
  embeddingSpec,
  type StreamSpec,
  type UnarySpec,
} from "./endpoint-specs.ts";
import { runWithFailover, type FailoverOptions } from "./failover.ts";
import { endpointKind, modelNotFound, wrongKind } from "./model-errors.ts";
import { QuotaStage } from "./quota-stage.ts";
import { readiness, type GatewayReadiness } from "./readiness.ts";
import { redactionKey } from "./route-guardrails.ts";
import { buildRoutes } from "./router.ts";
import { firstChunk, StreamSession, type StreamChunk } from "./stream-session.ts";

export interface GatewayDeps {
  config: Config;
  providers: ProviderSet;
  traces: TraceSink;
  metrics: Metrics;
  logger: Logger;
  /** Rate limits and budgets, checked before the upstream call and settled after it. */
  quotas?: QuotaGuard;
  /** The key `redaction: hash` guardrails derive theirs from; without it they refuse to start. */
  masterKey?: MasterKey;
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
 * The gateway service: checks that the caller may use the model, runs the route's input
 * guardrails, reserves the caller's quota, routes the request to its deployments (failover,
 * retries, circuit breaking), runs the output guardrails, accounts for usage and cost, settles
 * the quota, and records a trace (with the caller's project) and metrics for every request that
 * names a configured model. It knows nothing of HTTP; the routes turn its answers and stream
 * sessions into responses.
 */
export interface Gateway {
  /** Public models with kind and creation time, for GET /v1/models: those `identity` may use. */
  models(identity: Identity): GatewayModel[];
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
    redactionKey: redactionKey(deps.masterKey),
  });
  for (const route of routes.values()) {
    for (const d of route.deployments) {
      metrics.breakerState.set({ model: d.model, deployment: d.label }, 0);
    }
  }
  const quotas = new QuotaStage(deps.quotas);
  const tracker = new CallTracker({
    traces: deps.traces,
    metrics,
    logger: deps.logger,
    keepBodies: config.traces.bodies === "full",
    quotas,
  });
  const created = Math.floor(Date.now() / 1000);
  const names = [...routes.keys()];
  const budgetMs = config.server.request_timeout_ms;
  const unary: FailoverOptions = { metrics, random, settleOnSuccess: true };
  const streamed: FailoverOptions = { metrics, random, settleOnSuccess: false };
  let shuttingDown = false;

  /**
   * Starts following a request. A model the key may not use is a 403 whether or not it exists
   * (so a restricted key learns nothing of other models); an unknown model is a 404. Neither
   * gets a trace.
   */
  const begin = (endpoint: TraceEndpoint, model: string, meta: RequestMeta, stream: boolean) => {
    assertModelAllowed(meta.identity, model);
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

  /**
   * Input guardrails, then the quota reservation: a refused request never reaches the
   * provider, and one the guardrails refuse costs no quota. Returns the request to send.
   */
  const prepare = async <Req>(
    call: Call,
    spec: UnarySpec<Req, unknown> | StreamSpec<Req, unknown>,
    req: Req,
    sent: { body: unknown },
  ): Promise<Req> => {
    admit(call);
    const guarded = spec.guardInput(call, req);
    sent.body = guarded.request;
    if (guarded.blocked !== undefined) throw guarded.blocked;
    const estimate = spec.estimate(guarded.request);
    const pending = quotas.reserve(call, estimate.prompt, estimate.completion);
    if (pending !== undefined) await pending;
    return guarded.request;
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

  const unaryCall = async <Req extends { model: string }, Res extends { model: string }>(
    spec: UnarySpec<Req, Res>,
    req: Req,
    meta: RequestMeta,
  ): Promise<Res> => {
    const call = begin(spec.endpoint, req.model, meta, false);
    // What the trace keeps of the request: after the input guardrails, the redacted copy.
    const sent: { body: unknown } = { body: req };
    try {
      const request = await prepare(call, spec, req, sent);
      const invoke = (d: Deployment, signal: AbortSignal) => spec.invoke(d, request, signal);
      const { value } = await runWithFailover(call, spec.needs(request), invoke, unary);
      value.model = call.route.name;
      const withheld = spec.guardOutput(call, value);
      const { tokens, finishReason, body } = spec.account(request, value);
      tracker.finish(call, {
        httpStatus: withheld?.status ?? 200,
        error: withheld,
        tokens,
        finishReason: withheld === undefined ? finishReason : "content_filter",
        requestBody: request,
        responseBody: withheld === undefined ? body : null,
      });
      if (withheld !== undefined) throw withheld;
      return value;
    } catch (err) {
      throw fail(call, err, sent.body);
    }
  };

  const streamCall = async <Req extends { model: string }, C extends StreamChunk>(
    spec: StreamSpec<Req, C>,
    req: Req & { stream_options?: { include_usage?: boolean | undefined } | null | undefined },
    meta: RequestMeta,
  ): Promise<StreamSession<C>> => {
    const call = begin(spec.endpoint, req.model, meta, true);
    const sent: { body: unknown } = { body: req };
    try {
      const request = await prepare(call, spec, req, sent);
      const opened = (d: Deployment, signal: AbortSignal) =>
        firstChunk(spec.open(d, request, signal));
      const { value, attempt } = await runWithFailover(call, spec.needs(request), opened, streamed);
      return new StreamSession({
        call,
        attempt,
        iterator: value.iterator,
        first: value.first,
        assembler: spec.assembler(tracker.keepBodies),
        forwardUsage: req.stream_options?.include_usage === true,
        requestBody: request,
        estimatePrompt: () => spec.estimatePrompt(request),
        tracker,
        guard: spec.guard(call.route.guardrails),
      });
    } catch (err) {
      throw fail(call, err, sent.body);
    }
  };

  return {
    models: (identity) =>
      visibleModels(identity, names).map((name) => ({
        id: name,
        kind: routes.get(name)!.kind,
        created,
      })),
    hasModel: (name) => routes.has(name),
    readiness: () => readiness(routes.values()),

    abortAll: () => {
      shuttingDown = true;
      tracker.abortAll(
        new KeelError("shutting_down", "the server is shutting down; the answer was cut short"),
      );
    },

    chat: (req, meta) => unaryCall(chatSpec, req, meta),
    streamChat: (req, meta) => streamCall(chatStreamSpec, req, meta),
    completion: (req, meta) => unaryCall(completionSpec, req, meta),
    streamCompletion: (req, meta) => streamCall(completionStreamSpec, req, meta),
    embed: (req, meta) => unaryCall(embeddingSpec, req, meta),

    rejected: (endpoint, model, body, error, meta) => {
      const route = routes.get(model);
      if (route === undefined || visibleModels(meta.identity, [model]).length === 0) return;
      const stream = (body as { stream?: unknown } | null)?.stream === true;
      const call = new Call(meta, endpoint, route, stream, 0);
      tracker.begin(call);
      fail(call, error, body);
    },
  };
}
