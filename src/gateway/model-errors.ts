import { KeelError } from "../core/errors.ts";
import type { TraceEndpoint } from "../traces/schema.ts";
import type { ModelRoute } from "./router.ts";

/** The model kind each endpoint serves. */
export const endpointKind: Record<TraceEndpoint, "chat" | "embedding"> = {
  "chat.completions": "chat",
  completions: "chat",
  embeddings: "embedding",
};

const endpointPath: Record<TraceEndpoint, string> = {
  "chat.completions": "POST /v1/chat/completions",
  completions: "POST /v1/completions",
  embeddings: "POST /v1/embeddings",
};

function modelsOfKind(kind: "chat" | "embedding", routes: ReadonlyMap<string, ModelRoute>): string {
  const names = [...routes.values()].filter((r) => r.kind === kind).map((r) => r.name);
  return names.length === 0 ? "none" : names.join(", ");
}

/** 404 for a model name that is not configured, listing those the endpoint can serve. */
export function modelNotFound(
  model: string,
  endpoint: TraceEndpoint,
  routes: ReadonlyMap<string, ModelRoute>,
): KeelError {
  const available = modelsOfKind(endpointKind[endpoint], routes);
  return new KeelError(
    "model_not_found",
    `model "${model}" does not exist; available models for ${endpointPath[endpoint]}: ${available}`,
    { param: "model" },
  );
}

/** 400 for an embedding model on a chat endpoint, or a chat model on /v1/embeddings. */
export function wrongKind(
  route: ModelRoute,
  endpoint: TraceEndpoint,
  routes: ReadonlyMap<string, ModelRoute>,
): KeelError {
  const message =
    route.kind === "embedding"
      ? `model "${route.name}" is an embedding model: use it with POST /v1/embeddings, or pick ` +
        `a chat model for ${endpointPath[endpoint]} (${modelsOfKind("chat", routes)})`
      : `model "${route.name}" is a chat model: ${endpointPath[endpoint]} needs an embedding ` +
        `model (${modelsOfKind("embedding", routes)})`;
  return new KeelError("invalid_request", message, { param: "model" });
}
