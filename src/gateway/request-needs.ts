import type { ChatRequest, CompletionRequest } from "../providers/schema.ts";
import { Capability } from "./deployment.ts";

/**
 * What a request needs from a deployment's provider, as capability bits (see deployment.ts),
 * and the request Keel sends upstream for a stream.
 */

export function chatNeeds(req: ChatRequest): number {
  let needs: number = Capability.chat;
  if (req.tools !== undefined && req.tools.length > 0) needs |= Capability.tools;
  if (req.logprobs === true) needs |= Capability.logprobs;
  return needs;
}

export function completionNeeds(req: CompletionRequest, stream: boolean): number {
  let needs: number = stream ? Capability.streamCompletions : Capability.completions;
  if (req.logprobs !== null && req.logprobs !== undefined) needs |= Capability.logprobs;
  return needs;
}

export const embeddingNeeds: number = Capability.embeddings;

type StreamOptions = ChatRequest["stream_options"];

/**
 * The request for a streamed call, without the client's `include_usage`: whether to ask the
 * upstream for usage is the provider's decision (`stream_usage` in its config), made for every
 * stream, so that Keel can account for it even when the client did not ask. The gateway then
 * forwards the usage chunk only to clients that asked for it.
 */
export function upstreamStreamRequest<T extends { stream_options?: StreamOptions }>(req: T): T {
  const options = req.stream_options;
  if (options === null || options === undefined) return { ...req, stream: true };
  const { include_usage: _ignored, ...rest } = options;
  const kept = Object.keys(rest).length === 0 ? undefined : rest;
  return { ...req, stream: true, stream_options: kept };
}
