import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Config } from "./config.ts";
import { normalizeError, toOpenAIError, toProblem } from "./error-render.ts";
import { KeelError } from "./errors.ts";
import { newId } from "./ids.ts";
import type { Logger } from "./logger.ts";

/**
 * The bare HTTP server: limits, request ids, security headers, one error handler for every
 * route. Domains register their routes on it as Fastify plugins; this file knows none of them.
 */
export function createHttpServer(config: Config, logger: Logger): FastifyInstance {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance type the default one,
    // which is what domain plugins are typed against.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(config.server.request_log),
    bodyLimit: config.server.body_limit_bytes,
    requestTimeout: config.server.request_timeout_ms,
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    forceCloseConnections: "idle",
    genReqId: (req) => requestIdFrom(req.headers["x-request-id"]),
  });

  // One callback-style hook (an async one costs a promise and a microtask turn per request).
  // The security headers go on here, once, so every answer carries them (errors, 404s and
  // hijacked streams included); a route that sets its own cache-control overrides it.
  app.addHook("onRequest", (request, reply, done) => {
    reply.headers({
      "x-request-id": request.id,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
    });
    done();
  });

  app.setErrorHandler(async (error, request, reply) => {
    const err = normalizeError(error);
    if (err.status >= 500) {
      request.log.error({ err: error, code: err.code }, "request failed");
    }
    if (err.retryAfterMs !== undefined && err.status === 429) {
      reply.header("retry-after", String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
    }
    if (reply.sent || reply.raw.headersSent) return;
    reply.code(err.status);
    return renderError(request.url, err, request.id, reply);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const err = new KeelError("not_found", `no route for ${request.method} ${pathOf(request.url)}`);
    reply.code(404);
    return renderError(request.url, err, request.id, reply);
  });

  return app;
}

/**
 * Fastify's own request log lines are off; Keel writes one line per finished request at info
 * (operators rely on it) from the hook Fastify calls anyway, so it costs no extra hook.
 * `server.request_log: false` leaves it out: traces record every /v1 request anyway, and on a
 * busy gateway the line is a few µs per request and most of its log volume.
 */
class RequestLog extends LogController {
  readonly #enabled: boolean;

  constructor(enabled: boolean) {
    super({ disableRequestLogging: true });
    this.#enabled = enabled;
  }

  override requestCompleted(
    _error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (!this.#enabled) return;
    request.log.info(
      {
        method: request.method,
        url: request.routeOptions.url ?? pathOf(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "request",
    );
  }
}

function renderError(
  url: string,
  err: KeelError,
  requestId: string,
  reply: { type(t: string): unknown },
): unknown {
  if (url.startsWith("/v1/") || url === "/v1") {
    reply.type("application/json; charset=utf-8");
    return toOpenAIError(err);
  }
  reply.type("application/problem+json; charset=utf-8");
  return toProblem(err, requestId);
}

function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's X-Request-Id is kept when it is short and plain; otherwise Keel makes one. */
function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID.test(value) ? value : newId("request");
}
