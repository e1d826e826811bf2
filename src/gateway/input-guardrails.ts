import { KeelError } from "../core/errors.ts";
import {
  checkMaxInputTokens,
  estimateTokens,
  evaluateInjection,
  piiDecision,
  scanMessages,
  type TokenLimitDecision,
} from "../guardrails/index.ts";
import type { ChatRequest, CompletionRequest, EmbeddingRequest } from "../providers/schema.ts";
import type { Call } from "./call.ts";
import { inputPiiBlocked, type RouteGuardrails } from "./route-guardrails.ts";

/**
 * A route's guardrails on a request, before anything leaves for the provider. In order:
 * PII (so that even a refused request is traced with its values redacted), prompt injection
 * (on what the user and tools said, not the application's system prompt), the input token
 * limit. Each guardrail that found something, and the token limit when one is configured, adds
 * its decision to the call for the trace. The result is the request to send (redacted when the
 * policy says so) and, when a guardrail refuses it, the error to answer with.
 */
export interface GuardedInput<Req> {
  request: Req;
  blocked: KeelError | undefined;
}

/** Message roles whose text may carry an injection (the system prompt is the application's). */
const UNTRUSTED_ROLES: ReadonlySet<string> = new Set(["user", "tool", "function"]);

export function guardChatInput(call: Call, req: ChatRequest): GuardedInput<ChatRequest> {
  const guards = call.route.guardrails;
  const pii = scanMessages(req.messages, guards.config.pii.input, guards.scanOptions);
  if (pii.findings.length > 0) call.guardrails.push(piiDecision("input", pii));
  const request = pii.action === "allow" ? req : { ...req, messages: pii.messages };
  if (pii.action === "block")
    return { request, blocked: inputPiiBlocked(pii.findings, "messages") };

  let text = "";
  for (const message of request.messages) {
    if (UNTRUSTED_ROLES.has(message.role)) text += contentText(message.content) + "\n";
  }
  const injection = injectionCheck(call, guards, text);
  if (injection !== undefined) return { request, blocked: injection };

  const limit = guards.config.max_input_tokens;
  if (limit !== undefined) {
    const { pass, reason, ...decision } = checkMaxInputTokens(request.messages, limit);
    call.guardrails.push(decision);
    if (!pass) return { request, blocked: tooLong(reason ?? "", "messages") };
  }
  return { request, blocked: undefined };
}

export function guardCompletionInput(
  call: Call,
  req: CompletionRequest,
): GuardedInput<CompletionRequest> {
  const guards = call.route.guardrails;
  const prompts = typeof req.prompt === "string" ? [req.prompt] : req.prompt;
  const pii = scanMessages(
    prompts.map((content) => ({ content })),
    guards.config.pii.input,
    guards.scanOptions,
  );
  if (pii.findings.length > 0) call.guardrails.push(piiDecision("input", pii));
  let request = req;
  if (pii.action !== "allow") {
    const redacted = pii.messages.map((m) => String(m.content));
    request = { ...req, prompt: typeof req.prompt === "string" ? redacted[0]! : redacted };
  }
  if (pii.action === "block") return { request, blocked: inputPiiBlocked(pii.findings, "prompt") };

  const texts = typeof request.prompt === "string" ? [request.prompt] : request.prompt;
  const injection = injectionCheck(call, guards, texts.join("\n"));
  if (injection !== undefined) return { request, blocked: injection };
  return { request, blocked: tokenLimit(call, guards, texts, "prompt") };
}

/** Embeddings: PII and the token limit on text inputs (token-id inputs pass unchanged). */
export function guardEmbeddingInput(
  call: Call,
  req: EmbeddingRequest,
): GuardedInput<EmbeddingRequest> {
  const guards = call.route.guardrails;
  const input = req.input;
  const texts = typeof input === "string" ? [input] : input.filter((i) => typeof i === "string");
  if (texts.length === 0) return { request: req, blocked: undefined };
  const pii = scanMessages(
    texts.map((content) => ({ content })),
    guards.config.pii.input,
    guards.scanOptions,
  );
  if (pii.findings.length > 0) call.guardrails.push(piiDecision("input", pii));
  let request = req;
  let sent = texts;
  if (pii.action !== "allow") {
    sent = pii.messages.map((m) => String(m.content));
    request = { ...req, input: typeof input === "string" ? sent[0]! : sent };
  }
  if (pii.action === "block") return { request, blocked: inputPiiBlocked(pii.findings, "input") };
  return { request, blocked: tokenLimit(call, guards, sent, "input") };
}

function injectionCheck(call: Call, guards: RouteGuardrails, text: string): KeelError | undefined {
  if (text.length === 0) return undefined;
  const decision = evaluateInjection(text, guards.config.injection);
  if (decision.signals.length === 0) return undefined;
  call.guardrails.push(decision);
  if (decision.action !== "block") return undefined;
  return new KeelError(
    "guardrail_blocked",
    `the input looks like a prompt injection (signals: ${decision.signals.join(", ")}; score ` +
      `${decision.score} is at or over this model's threshold of ${decision.threshold}), which ` +
      `its guardrails block`,
    {
      param: "messages",
      details: { guardrail: "injection", signals: decision.signals, score: decision.score },
    },
  );
}

/** The token limit on plain text pieces (no chat framing). */
function tokenLimit(
  call: Call,
  guards: RouteGuardrails,
  texts: readonly string[],
  param: string,
): KeelError | undefined {
  const limit = guards.config.max_input_tokens;
  if (limit === undefined) return undefined;
  let tokens = 0;
  for (const text of texts) tokens += estimateTokens(text);
  const pass = tokens <= limit;
  const decision: TokenLimitDecision = {
    guardrail: "max_input_tokens",
    action: pass ? "allow" : "block",
    tokens,
    limit,
    estimated: true,
  };
  call.guardrails.push(decision);
  if (pass) return undefined;
  return tooLong(
    `the input is about ${tokens} tokens, over this model's guardrails.max_input_tokens of ` +
      `${limit}: shorten the ${param}`,
    param,
  );
}

function tooLong(reason: string, param: string): KeelError {
  return new KeelError("context_length_exceeded", reason, { param });
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content as { type?: unknown; text?: unknown }[]) {
    if (part.type === "text" && typeof part.text === "string") text += part.text + "\n";
  }
  return text;
}
