import type { KeelError } from "../core/errors.ts";
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
import type { TraceEndpoint } from "../traces/schema.ts";
import type { Call } from "./call.ts";
import type { Deployment } from "./deployment.ts";
import {
  guardChatInput,
  guardCompletionInput,
  guardEmbeddingInput,
  type GuardedInput,
} from "./input-guardrails.ts";
import { guardChatOutput, guardCompletionOutput } from "./output-guardrails.ts";
import { completionCap } from "./quota-stage.ts";
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
import type { RouteGuardrails } from "./route-guardrails.ts";
import { ChatStreamAssembler, CompletionStreamAssembler } from "./stream-assembler.ts";
import { chatStreamGuard, completionStreamGuard, type StreamGuard } from "./stream-guardrails.ts";
import type { ChunkAssembler } from "./stream-session.ts";
import {
  estimateChatPromptTokens,
  estimateCompletionPromptTokens,
  estimateEmbeddingTokens,
} from "./usage.ts";

/**
 * What differs between the /v1 endpoints, as data the gateway's one request path runs:
 * the capabilities a request needs, its input guardrails, its token estimate for the quota
 * reservation, the provider call, the output guardrails and the accounting.
 */

/** Prompt tokens and the completion's cap, reserved before the call. */
export interface Estimate {
  prompt: number;
  completion: number;
}

interface CommonSpec<Req> {
  endpoint: TraceEndpoint;
  needs(req: Req): number;
  guardInput(call: Call, req: Req): GuardedInput<Req>;
  estimate(req: Req): Estimate;
}

export interface UnarySpec<Req, Res> extends CommonSpec<Req> {
  invoke(d: Deployment, req: Req, signal: AbortSignal): Promise<Res>;
  /** Applies the output guardrails in place; the error when the answer must be withheld. */
  guardOutput(call: Call, res: Res): KeelError | undefined;
  account(req: Req, res: Res): Accounting;
}

export interface StreamSpec<Req, C> extends CommonSpec<Req> {
  open(d: Deployment, req: Req, signal: AbortSignal): AsyncIterable<C>;
  assembler(keepBodies: boolean): ChunkAssembler<C>;
  guard(guards: RouteGuardrails): StreamGuard<C>;
  estimatePrompt(req: Req): number;
}

const chatEstimate = (req: ChatRequest): Estimate => ({
  prompt: estimateChatPromptTokens(req),
  completion: completionCap(req),
});

const completionEstimate = (req: CompletionRequest): Estimate => ({
  prompt: estimateCompletionPromptTokens(req),
  completion: completionCap(req),
});

export const chatSpec: UnarySpec<ChatRequest, ChatCompletion> = {
  endpoint: "chat.completions",
  needs: chatNeeds,
  guardInput: guardChatInput,
  estimate: chatEstimate,
  invoke: (d, req, signal) => d.provider.chat({ ...req, model: d.upstreamModel }, { signal }),
  guardOutput: guardChatOutput,
  account: accountChat,
};

export const chatStreamSpec: StreamSpec<ChatRequest, ChatCompletionChunk> = {
  endpoint: "chat.completions",
  needs: chatNeeds,
  guardInput: guardChatInput,
  estimate: chatEstimate,
  open: (d, req, signal) =>
    d.provider.stream({ ...upstreamStreamRequest(req), model: d.upstreamModel }, { signal }),
  assembler: (keepBodies) => new ChatStreamAssembler(keepBodies),
  guard: chatStreamGuard,
  estimatePrompt: estimateChatPromptTokens,
};

// Deployments without completion()/streamCompletion()/embed() never get these requests:
// the router only picks deployments whose provider has the capability (deployment.ts).
export const completionSpec: UnarySpec<CompletionRequest, Completion> = {
  endpoint: "completions",
  needs: (req) => completionNeeds(req, false),
  guardInput: guardCompletionInput,
  estimate: completionEstimate,
  invoke: (d, req, signal) =>
    d.provider.completion!({ ...req, model: d.upstreamModel }, { signal }),
  guardOutput: guardCompletionOutput,
  account: accountCompletion,
};

export const completionStreamSpec: StreamSpec<CompletionRequest, CompletionChunk> = {
  endpoint: "completions",
  needs: (req) => completionNeeds(req, true),
  guardInput: guardCompletionInput,
  estimate: completionEstimate,
  open: (d, req, signal) =>
    d.provider.streamCompletion!(
      { ...upstreamStreamRequest(req), model: d.upstreamModel },
      { signal },
    ),
  assembler: (keepBodies) => new CompletionStreamAssembler(keepBodies),
  guard: completionStreamGuard,
  estimatePrompt: estimateCompletionPromptTokens,
};

export const embeddingSpec: UnarySpec<EmbeddingRequest, EmbeddingResponse> = {
  endpoint: "embeddings",
  needs: () => embeddingNeeds,
  guardInput: guardEmbeddingInput,
  estimate: (req) => ({ prompt: estimateEmbeddingTokens(req), completion: 0 }),
  invoke: (d, req, signal) => d.provider.embed!({ ...req, model: d.upstreamModel }, { signal }),
  guardOutput: () => undefined,
  account: accountEmbedding,
};
