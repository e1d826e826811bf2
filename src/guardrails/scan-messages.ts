import { detectPii } from "./pii-detectors.ts";
import { redact, resolveRedaction, type Redaction } from "./redact.ts";
import { applyPolicy, FindingTally, type PiiScanOptions } from "./scan.ts";
import type { PiiAction, PiiFinding, PiiPolicy } from "./schema.ts";

/**
 * A PII policy over chat messages (the OpenAI shape): string contents, `text` content parts
 * and tool-call arguments are scanned (a label keeps arguments valid JSON: it holds no quote
 * or backslash); other parts (images, audio) and fields pass unchanged. Messages come back
 * as copies, the input is not modified; findings and the action cover all messages together.
 */

export interface ContentMessage {
  content?: unknown;
  tool_calls?: unknown;
}

export interface MessagesScanResult<M> {
  action: PiiAction;
  findings: PiiFinding[];
  messages: M[];
}

function scanPiece(text: string, policy: PiiPolicy, redaction: Redaction, tally: FindingTally) {
  const replaced = applyPolicy(detectPii(text), policy, tally);
  return replaced.length === 0 ? text : redact(text, replaced, redaction);
}

function scanContent(
  content: unknown,
  policy: PiiPolicy,
  redaction: Redaction,
  tally: FindingTally,
): unknown {
  if (typeof content === "string") return scanPiece(content, policy, redaction, tally);
  if (!Array.isArray(content)) return content;
  return (content as unknown[]).map((part) => {
    if (typeof part !== "object" || part === null) return part;
    const { type, text } = part as { type?: unknown; text?: unknown };
    if (type !== "text" || typeof text !== "string") return part;
    return { ...part, text: scanPiece(text, policy, redaction, tally) };
  });
}

function scanToolCalls(
  toolCalls: unknown,
  policy: PiiPolicy,
  redaction: Redaction,
  tally: FindingTally,
): unknown {
  if (!Array.isArray(toolCalls)) return toolCalls;
  return (toolCalls as unknown[]).map((call) => {
    if (typeof call !== "object" || call === null) return call;
    const fn = (call as { function?: unknown }).function;
    if (typeof fn !== "object" || fn === null) return call;
    const args = (fn as { arguments?: unknown }).arguments;
    if (typeof args !== "string") return call;
    return { ...call, function: { ...fn, arguments: scanPiece(args, policy, redaction, tally) } };
  });
}

export function scanMessages<M extends ContentMessage>(
  messages: readonly M[],
  policy: PiiPolicy,
  options: PiiScanOptions = {},
): MessagesScanResult<M> {
  const redaction = resolveRedaction(policy.redaction, options.hashKey);
  const tally = new FindingTally();
  const scanned = messages.map((message) => {
    const copy = { ...message };
    if (message.content !== undefined) {
      copy.content = scanContent(message.content, policy, redaction, tally);
    }
    if (message.tool_calls !== undefined) {
      copy.tool_calls = scanToolCalls(message.tool_calls, policy, redaction, tally);
    }
    return copy;
  });
  return { action: tally.action, findings: tally.findings(), messages: scanned };
}
