import type { KeelError } from "../core/errors.ts";
import { piiDecision, scanMessages } from "../guardrails/index.ts";
import type { ChatCompletion, Completion } from "../providers/schema.ts";
import type { Call } from "./call.ts";
import { outputPiiBlocked } from "./route-guardrails.ts";

/**
 * The output PII policy on a non-streamed answer, before it reaches the client: every
 * choice's text (and a chat answer's tool-call arguments) is scanned; redacted values are
 * replaced in place; a blocked value withholds the whole answer (the returned error, 422).
 * Streams are filtered chunk by chunk in stream-guardrails.ts.
 */

export function guardChatOutput(call: Call, res: ChatCompletion): KeelError | undefined {
  const guards = call.route.guardrails;
  const scan = scanMessages(
    res.choices.map((c) => c.message),
    guards.config.pii.output,
    guards.scanOptions,
  );
  if (scan.findings.length > 0) call.guardrails.push(piiDecision("output", scan));
  if (scan.action === "block") return outputPiiBlocked(scan.findings);
  if (scan.action === "redact") {
    res.choices.forEach((choice, i) => {
      choice.message = scan.messages[i] ?? choice.message;
    });
  }
  return undefined;
}

export function guardCompletionOutput(call: Call, res: Completion): KeelError | undefined {
  const guards = call.route.guardrails;
  const scan = scanMessages(
    res.choices.map((c) => ({ content: c.text })),
    guards.config.pii.output,
    guards.scanOptions,
  );
  if (scan.findings.length > 0) call.guardrails.push(piiDecision("output", scan));
  if (scan.action === "block") return outputPiiBlocked(scan.findings);
  if (scan.action === "redact") {
    res.choices.forEach((choice, i) => {
      const content = scan.messages[i]?.content;
      if (typeof content === "string") choice.text = content;
    });
  }
  return undefined;
}
