import {
  createStreamRedactor,
  piiDecision,
  piiEntityTypes,
  scanMessages,
  type PiiAction,
  type PiiFinding,
  type StreamRedactor,
} from "../guardrails/index.ts";
import type { ChatCompletionChunk, CompletionChunk } from "../providers/schema.ts";
import type { Call } from "./call.ts";
import { outputPiiBlocked, type RouteGuardrails } from "./route-guardrails.ts";
import type { StreamChunk } from "./stream-session.ts";
import { chatSlots, completionSlots, slotKey, type Slot, type TextSlots } from "./stream-slots.ts";

/**
 * The output PII policy on a stream. When the policy redacts or blocks anything, each text slot
 * (a choice's content, each of its tool calls' arguments, a completion's text) runs through a
 * stream redactor of its own: a value split over any number of chunks is still replaced, at
 * the cost of holding back only the tail that could still grow into a value (flushed with the
 * choice's `finish_reason`). Masks hold no quote or backslash, so redacted arguments stay valid
 * JSON. A blocked value ends the stream (the session sends an error event and
 * `finish_reason: "content_filter"`). When the policy only records, the text is forwarded
 * untouched and each slot is scanned once, whole, at the end.
 */
export interface StreamGuard<C> {
  /**
   * Filters the chunk's text in place; throws `guardrail_blocked` on a blocked value. True when
   * it changed the chunk (the relay may then no longer send the upstream's own text of it).
   */
  apply(chunk: C): boolean;
  /** Text still held when the stream ended without a `finish_reason`, as chunks to send. */
  rest(): C[];
  /** Adds the output decision (types and counts) to the call. */
  record(call: Pick<Call, "guardrails">): void;
}

export function chatStreamGuard(guards: RouteGuardrails): StreamGuard<ChatCompletionChunk> {
  return streamGuard(guards, chatSlots);
}

export function completionStreamGuard(guards: RouteGuardrails): StreamGuard<CompletionChunk> {
  return streamGuard(guards, completionSlots);
}

function streamGuard<C extends StreamChunk>(
  guards: RouteGuardrails,
  slots: TextSlots<C>,
): StreamGuard<C> {
  return guards.outputActs ? new RedactingGuard(guards, slots) : new RecordingGuard(guards, slots);
}

interface SlotRedactor {
  slot: Slot;
  redactor: StreamRedactor;
}

class RedactingGuard<C extends StreamChunk> implements StreamGuard<C> {
  readonly #guards: RouteGuardrails;
  readonly #slots: TextSlots<C>;
  readonly #redactors = new Map<string, SlotRedactor>();
  #template: C | undefined;
  /** Whether the chunk being filtered was changed. */
  #changed = false;

  constructor(guards: RouteGuardrails, slots: TextSlots<C>) {
    this.#guards = guards;
    this.#slots = slots;
  }

  apply(chunk: C): boolean {
    this.#template = chunk;
    this.#changed = false;
    this.#slots.map(chunk, this.#filter);
    for (const choice of this.#slots.finished(chunk)) {
      for (const { slot, redactor } of this.#redactors.values()) {
        if (slot.choice !== choice) continue;
        const tail = redactor.flush();
        if (tail === "") continue;
        this.#slots.append(chunk, slot, tail);
        this.#changed = true;
      }
    }
    const { action, findings } = this.#merged();
    if (action === "block") throw outputPiiBlocked(findings);
    return this.#changed;
  }

  /** One field's text through its slot's redactor (held back, masked, or as it was). */
  readonly #filter = (slot: Slot, text: string): string => {
    const out = this.#redactor(slot).push(text);
    if (out !== text) this.#changed = true;
    return out;
  };

  rest(): C[] {
    const template = this.#template;
    if (template === undefined) return [];
    const chunks: C[] = [];
    for (const { slot, redactor } of this.#redactors.values()) {
      const text = redactor.flush();
      if (text !== "") chunks.push(this.#slots.chunk(template, slot, text));
    }
    const { action, findings } = this.#merged();
    if (action === "block") throw outputPiiBlocked(findings);
    return chunks;
  }

  record(call: Pick<Call, "guardrails">): void {
    const merged = this.#merged();
    if (merged.findings.length > 0) call.guardrails.push(piiDecision("output", merged));
  }

  #redactor(slot: Slot): StreamRedactor {
    const key = slotKey(slot);
    let entry = this.#redactors.get(key);
    if (entry === undefined) {
      const { config, scanOptions } = this.#guards;
      entry = { slot, redactor: createStreamRedactor(config.pii.output, scanOptions) };
      this.#redactors.set(key, entry);
    }
    return entry.redactor;
  }

  #merged(): { action: PiiAction; findings: PiiFinding[] } {
    const redactors = [...this.#redactors.values()].map((entry) => entry.redactor);
    if (redactors.length === 1) {
      const only = redactors[0]!;
      return { action: only.action, findings: only.findings() };
    }
    return mergeFindings(redactors);
  }
}

class RecordingGuard<C extends StreamChunk> implements StreamGuard<C> {
  readonly #guards: RouteGuardrails;
  readonly #slots: TextSlots<C>;
  readonly #texts = new Map<string, string>();

  constructor(guards: RouteGuardrails, slots: TextSlots<C>) {
    this.#guards = guards;
    this.#slots = slots;
  }

  apply(chunk: C): boolean {
    this.#slots.map(chunk, this.#keep);
    return false;
  }

  readonly #keep = (slot: Slot, text: string): string => {
    if (text !== "") {
      const key = slotKey(slot);
      this.#texts.set(key, (this.#texts.get(key) ?? "") + text);
    }
    return text;
  };

  rest(): C[] {
    return [];
  }

  record(call: Pick<Call, "guardrails">): void {
    if (this.#texts.size === 0) return;
    const messages = [...this.#texts.values()].map((content) => ({ content }));
    const scan = scanMessages(messages, this.#guards.config.pii.output, this.#guards.scanOptions);
    if (scan.findings.length > 0) call.guardrails.push(piiDecision("output", scan));
  }
}

const severity: Record<PiiAction, number> = { allow: 0, redact: 1, block: 2 };

/** Findings of several redactors (one per slot) as one: counts summed per type. */
function mergeFindings(redactors: readonly StreamRedactor[]): {
  action: PiiAction;
  findings: PiiFinding[];
} {
  let action: PiiAction = "allow";
  const byType = new Map<PiiFinding["type"], PiiFinding>();
  for (const redactor of redactors) {
    if (severity[redactor.action] > severity[action]) action = redactor.action;
    for (const finding of redactor.findings()) {
      const seen = byType.get(finding.type);
      byType.set(
        finding.type,
        seen === undefined
          ? { ...finding }
          : {
              ...seen,
              count: seen.count + finding.count,
            },
      );
    }
  }
  const findings = piiEntityTypes.flatMap((type) => {
    const finding = byType.get(type);
    return finding === undefined ? [] : [finding];
  });
  return { action, findings };
}
