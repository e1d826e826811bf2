import type { Secret } from "../core/secret.ts";
import { detectPii } from "./pii-detectors.ts";
import { redact, resolveRedaction, type Redaction } from "./redact.ts";
import {
  piiEntityTypes,
  type PiiAction,
  type PiiDecision,
  type PiiEntityType,
  type PiiFinding,
  type PiiPolicy,
  type PiiSpan,
} from "./schema.ts";

/**
 * Applying a PII policy to text. Every entity type is detected; each finding takes the action
 * its type is given (or the policy's default); the text comes back with every finding not
 * allowed replaced, and the overall action is the strictest one taken: `block` over `redact`
 * over `allow`. Findings are reported as types and counts only.
 */

export interface PiiScanResult {
  action: PiiAction;
  /** One entry per type found, in the order of `piiEntityTypes`; never the values. */
  findings: PiiFinding[];
  /** The text with every redacted or blocked value replaced by its label. */
  redactedText: string;
}

export interface PiiScanOptions {
  /** The key for `redaction: hash` (required then). */
  hashKey?: Secret;
}

const severity: Record<PiiAction, number> = { allow: 0, redact: 1, block: 2 };

export function actionFor(policy: PiiPolicy, type: PiiEntityType): PiiAction {
  return policy.entities[type] ?? policy.default_action;
}

/** Counts findings by type and keeps the strictest action, across one text or many. */
export class FindingTally {
  /** Made on the first finding: most texts have none, and most tallies stay empty. */
  #counts: Map<PiiEntityType, { count: number; action: PiiAction }> | undefined;
  #action: PiiAction = "allow";

  add(type: PiiEntityType, action: PiiAction): void {
    this.#counts ??= new Map();
    const entry = this.#counts.get(type);
    if (entry === undefined) this.#counts.set(type, { count: 1, action });
    else entry.count += 1;
    if (severity[action] > severity[this.#action]) this.#action = action;
  }

  get action(): PiiAction {
    return this.#action;
  }

  findings(): PiiFinding[] {
    const out: PiiFinding[] = [];
    if (this.#counts === undefined) return out;
    for (const type of piiEntityTypes) {
      const entry = this.#counts.get(type);
      if (entry !== undefined) out.push({ type, count: entry.count, action: entry.action });
    }
    return out;
  }
}

/** Tallies `spans` under `policy` and returns the ones to replace. */
export function applyPolicy(
  spans: readonly PiiSpan[],
  policy: PiiPolicy,
  tally: FindingTally,
): PiiSpan[] {
  const replaced: PiiSpan[] = [];
  for (const span of spans) {
    const action = actionFor(policy, span.type);
    tally.add(span.type, action);
    if (action !== "allow") replaced.push(span);
  }
  return replaced;
}

export function scanText(
  text: string,
  policy: PiiPolicy,
  options: PiiScanOptions = {},
): PiiScanResult {
  const redaction: Redaction = resolveRedaction(policy.redaction, options.hashKey);
  const tally = new FindingTally();
  const replaced = applyPolicy(detectPii(text), policy, tally);
  return {
    action: tally.action,
    findings: tally.findings(),
    redactedText: replaced.length === 0 ? text : redact(text, replaced, redaction),
  };
}

/** What a trace records of a scan: the action and the counts, without any text. */
export function piiDecision(
  stage: PiiDecision["stage"],
  result: Pick<PiiScanResult, "action" | "findings">,
): PiiDecision {
  return { guardrail: "pii", stage, action: result.action, findings: result.findings };
}
