import { detectCandidates, piiDetectors, resolveOverlaps } from "./pii-detectors.ts";
import { redact, resolveRedaction } from "./redact.ts";
import { applyPolicy, FindingTally, type PiiScanOptions } from "./scan.ts";
import {
  piiEntityTypes,
  type PiiAction,
  type PiiFinding,
  type PiiPolicy,
  type PiiSpan,
} from "./schema.ts";

/**
 * Redacting a streamed answer as it arrives. Text is emitted as soon as no value could still
 * be growing over it: the redactor holds back only the tail that may become part of a match
 * (for prose, the last partial word; for a run of digits, the run), bounded by the longest
 * value a detector accepts: 44 characters for an IBAN, about 260 for an email, an API key or
 * a secret, and up to 8 KiB only while the tail looks like the start of a JWT. A value split
 * over any number of deltas is redacted as `scanText` redacts the whole text. `flush()` at
 * the end emits the rest.
 *
 * Blocked values are replaced like redacted ones (they never reach the client) and `action`
 * becomes `block`, for the caller to end the stream.
 */

export interface StreamRedactor {
  /** Takes the next delta; returns the redacted text that is safe to send now (maybe ""). */
  push(delta: string): string;
  /** Ends the stream: returns everything still held, redacted. */
  flush(): string;
  /** The strictest action taken so far. */
  readonly action: PiiAction;
  /** Types and counts found so far, never the values. */
  findings(): PiiFinding[];
  /** Characters received but not yet emitted. */
  readonly heldLength: number;
}

/** Raw text kept from what was already emitted, for detectors that look behind a value. */
const CONTEXT_CHARS = 64;

/** Where the tail that could still grow into a value begins (`text.length` when none). */
function holdStart(text: string): number {
  let hold = text.length;
  for (const type of piiEntityTypes) {
    const { chars, maxLength, viable } = piiDetectors[type].partial;
    const floor = Math.max(0, text.length - maxLength);
    let start = text.length;
    while (start > floor && chars.has(text.charCodeAt(start - 1))) start--;
    if (start < hold && viable(text, start)) hold = start;
  }
  return hold;
}

/** Moves `cut` left until no candidate straddles it. */
function settleCut(candidates: readonly PiiSpan[], cut: number): number {
  let at = cut;
  let moved = true;
  while (moved) {
    moved = false;
    for (const span of candidates) {
      if (span.start < at && span.end > at) {
        at = span.start;
        moved = true;
      }
    }
  }
  return at;
}

export function createStreamRedactor(
  policy: PiiPolicy,
  options: PiiScanOptions = {},
): StreamRedactor {
  const redaction = resolveRedaction(policy.redaction, options.hashKey);
  const tally = new FindingTally();
  let context = "";
  let pending = "";

  const drain = (final: boolean): string => {
    if (pending.length === 0) return "";
    const text = context + pending;
    const offset = context.length;
    const hold = final ? text.length : holdStart(text);
    if (hold <= offset) return ""; // everything received may still grow into a value
    const candidates = detectCandidates(text).filter((span) => span.start >= offset);
    const cut = settleCut(candidates, hold);
    if (cut <= offset) return "";
    const settled = resolveOverlaps(candidates.filter((span) => span.end <= cut));
    const replaced = applyPolicy(settled, policy, tally).map((span) => ({
      ...span,
      start: span.start - offset,
      end: span.end - offset,
    }));
    const emitted = text.slice(offset, cut);
    context = text.slice(Math.max(0, cut - CONTEXT_CHARS), cut);
    pending = text.slice(cut);
    return replaced.length === 0 ? emitted : redact(emitted, replaced, redaction);
  };

  return {
    push(delta) {
      pending += delta;
      return drain(false);
    },
    flush: () => drain(true),
    get action() {
      return tally.action;
    },
    findings: () => tally.findings(),
    get heldLength() {
      return pending.length;
    },
  };
}
