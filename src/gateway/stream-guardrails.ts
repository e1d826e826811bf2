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

/**
 * The output PII policy on a stream. When the policy redacts or blocks anything, each choice's
 * text runs through a stream redactor: a value split over any number of chunks is still
 * replaced, at the cost of holding back only the tail that could still grow into a value
 * (flushed with the choice's `finish_reason`). A blocked value ends the stream (the session
 * sends an error event and `finish_reason: "content_filter"`). When the policy only records,
 * the text is forwarded untouched and scanned once, whole, at the end.
 */
export interface StreamGuard<C> {
  /** Filters the chunk's text in place; throws `guardrail_blocked` on a blocked value. */
  apply(chunk: C): void;
  /** Text still held when the stream ended without a `finish_reason`, as chunks to send. */
  rest(): C[];
  /** Adds the output decision (types and counts) to the call. */
  record(call: Call): void;
}

/** Where a chunk kind keeps each choice's text. */
interface TextSlots<C> {
  /** Calls `visit` per choice; a returned string replaces that choice's text. */
  each(
    chunk: C,
    visit: (index: number, text: string | undefined, done: boolean) => string | undefined,
  ): void;
  chunk(template: C, index: number, text: string): C;
}

const chatSlots: TextSlots<ChatCompletionChunk> = {
  each(chunk, visit) {
    for (const choice of chunk.choices) {
      const content = choice.delta.content;
      const done = choice.finish_reason !== null && choice.finish_reason !== undefined;
      const out = visit(choice.index, typeof content === "string" ? content : undefined, done);
      if (out !== undefined) choice.delta.content = out;
    }
  },
  chunk: (template, index, text) => ({
    ...template,
    choices: [{ index, delta: { content: text }, finish_reason: null, logprobs: null }],
    usage: undefined,
  }),
};

const completionSlots: TextSlots<CompletionChunk> = {
  each(chunk, visit) {
    for (const choice of chunk.choices) {
      const out = visit(choice.index, choice.text, choice.finish_reason !== null);
      if (out !== undefined) choice.text = out;
    }
  },
  chunk: (template, index, text) => ({
    ...template,
    choices: [{ index, text, finish_reason: null, logprobs: null }],
    usage: undefined,
  }),
};

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

class RedactingGuard<C extends StreamChunk> implements StreamGuard<C> {
  readonly #guards: RouteGuardrails;
  readonly #slots: TextSlots<C>;
  readonly #redactors = new Map<number, StreamRedactor>();
  #template: C | undefined;

  constructor(guards: RouteGuardrails, slots: TextSlots<C>) {
    this.#guards = guards;
    this.#slots = slots;
  }

  apply(chunk: C): void {
    this.#template = chunk;
    this.#slots.each(chunk, (index, text, done) => {
      const redactor = this.#redactor(index);
      let out = text === undefined ? "" : redactor.push(text);
      if (done) out += redactor.flush();
      return text === undefined && out === "" ? undefined : out;
    });
    const { action, findings } = this.#merged();
    if (action === "block") throw outputPiiBlocked(findings);
  }

  rest(): C[] {
    const template = this.#template;
    if (template === undefined) return [];
    const chunks: C[] = [];
    for (const [index, redactor] of this.#redactors) {
      const text = redactor.flush();
      if (text !== "") chunks.push(this.#slots.chunk(template, index, text));
    }
    const { action, findings } = this.#merged();
    if (action === "block") throw outputPiiBlocked(findings);
    return chunks;
  }

  record(call: Call): void {
    const merged = this.#merged();
    if (merged.findings.length > 0) call.guardrails.push(piiDecision("output", merged));
  }

  #redactor(index: number): StreamRedactor {
    let redactor = this.#redactors.get(index);
    if (redactor === undefined) {
      redactor = createStreamRedactor(this.#guards.config.pii.output, this.#guards.scanOptions);
      this.#redactors.set(index, redactor);
    }
    return redactor;
  }

  #merged(): { action: PiiAction; findings: PiiFinding[] } {
    const redactors = [...this.#redactors.values()];
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
  readonly #texts = new Map<number, string>();

  constructor(guards: RouteGuardrails, slots: TextSlots<C>) {
    this.#guards = guards;
    this.#slots = slots;
  }

  apply(chunk: C): void {
    this.#slots.each(chunk, (index, text) => {
      if (text !== undefined && text !== "") {
        this.#texts.set(index, (this.#texts.get(index) ?? "") + text);
      }
      return undefined;
    });
  }

  rest(): C[] {
    return [];
  }

  record(call: Call): void {
    if (this.#texts.size === 0) return;
    const messages = [...this.#texts.values()].map((content) => ({ content }));
    const scan = scanMessages(messages, this.#guards.config.pii.output, this.#guards.scanOptions);
    if (scan.findings.length > 0) call.guardrails.push(piiDecision("output", scan));
  }
}

const severity: Record<PiiAction, number> = { allow: 0, redact: 1, block: 2 };

/** Findings of several redactors (one per choice) as one: counts summed per type. */
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
