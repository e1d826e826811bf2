import { detectPii } from "./pii-detectors.ts";
import { redact, resolveRedaction, type Redaction } from "./redact.ts";
import { applyPolicy, FindingTally, type PiiScanOptions } from "./scan.ts";
import type { PiiAction, PiiFinding, PiiPolicy } from "./schema.ts";

/**
 * A PII policy over chat messages (the OpenAI shape): string contents, `text` content parts
 * and tool-call arguments are scanned (a label keeps arguments valid JSON: it holds no quote
 * or backslash); other parts (images, audio) and fields pass unchanged. The input is not
 * modified: a message with something replaced comes back as a copy, and one without as
 * itself (most have nothing, and copying each one on every request is a cost for nothing).
 * Findings and the action cover all messages together.
 */

export interface ContentMessage {
  content?: unknown;
  tool_calls?: unknown;
}

export interface MessagesScanResult<M> {
  action: PiiAction;
  findings: PiiFinding[];
  /** Every message in order: a copy where something was replaced, else the one given. */
  messages: M[];
}

interface Scan {
  policy: PiiPolicy;
  redaction: Redaction;
  tally: FindingTally;
}

function scanPiece(text: string, scan: Scan): string {
  const spans = detectPii(text);
  if (spans.length === 0) return text;
  const replaced = applyPolicy(spans, scan.policy, scan.tally);
  return replaced.length === 0 ? text : redact(text, replaced, scan.redaction);
}

/** `items.map(visit)`, but `items` itself while `visit` returns every item as it was. */
function mapChanged(items: readonly unknown[], visit: (item: unknown) => unknown): unknown {
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const next = visit(item);
    if (out === undefined && next !== item) out = items.slice(0, i);
    out?.push(next);
  }
  return out ?? items;
}

function scanContent(content: unknown, scan: Scan): unknown {
  if (typeof content === "string") return scanPiece(content, scan);
  if (!Array.isArray(content)) return content;
  return mapChanged(content, (part) => {
    if (typeof part !== "object" || part === null) return part;
    const { type, text } = part as { type?: unknown; text?: unknown };
    if (type !== "text" || typeof text !== "string") return part;
    const scanned = scanPiece(text, scan);
    return scanned === text ? part : { ...part, text: scanned };
  });
}

function scanToolCalls(toolCalls: unknown, scan: Scan): unknown {
  if (!Array.isArray(toolCalls)) return toolCalls;
  return mapChanged(toolCalls, (call) => {
    if (typeof call !== "object" || call === null) return call;
    const fn = (call as { function?: unknown }).function;
    if (typeof fn !== "object" || fn === null) return call;
    const args = (fn as { arguments?: unknown }).arguments;
    if (typeof args !== "string") return call;
    const scanned = scanPiece(args, scan);
    return scanned === args ? call : { ...call, function: { ...fn, arguments: scanned } };
  });
}

function scanMessage<M extends ContentMessage>(message: M, scan: Scan): M {
  const { content, tool_calls: toolCalls } = message;
  const scannedContent = content === undefined ? content : scanContent(content, scan);
  const scannedCalls = toolCalls === undefined ? toolCalls : scanToolCalls(toolCalls, scan);
  if (scannedContent === content && scannedCalls === toolCalls) return message;
  const copy = { ...message };
  if (content !== undefined) copy.content = scannedContent;
  if (toolCalls !== undefined) copy.tool_calls = scannedCalls;
  return copy;
}

export function scanMessages<M extends ContentMessage>(
  messages: readonly M[],
  policy: PiiPolicy,
  options: PiiScanOptions = {},
): MessagesScanResult<M> {
  const redaction = resolveRedaction(policy.redaction, options.hashKey);
  const scan: Scan = { policy, redaction, tally: new FindingTally() };
  const scanned = messages.map((message) => scanMessage(message, scan));
  return { action: scan.tally.action, findings: scan.tally.findings(), messages: scanned };
}
