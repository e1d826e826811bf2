import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
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
    disableRequestLogging: true,
    bodyLimit: config.server.body_limit_bytes,
    requestTimeout: config.server.request_timeout_ms,
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    maxParamLength: 200,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    genReqId: (req) => requestIdFrom(req.headers["x-request-id"]),
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });

  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("x-frame-options", "DENY");
    reply.header("referrer-policy", "no-referrer");
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.routeOptions.url ?? request.url.split("?")[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "request",
    );
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
    const err = new KeelError(
      "not_found",
      `no route for ${request.method} ${request.url.split("?")[0]}`,
    );
    reply.code(404);
    return renderError(request.url, err, request.id, reply);
  });

  return app;
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

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's X-Request-Id is kept when it is short and plain; otherwise Keel makes one. */
function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID.test(value) ? value : newId("request");
}
