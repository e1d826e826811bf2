import { contactDetectors } from "./contact-detectors.ts";
import { credentialDetectors } from "./credential-detectors.ts";
import type { PiiDetector, PiiDetectorTable } from "./detector.ts";
import { financialDetectors } from "./financial-detectors.ts";
import { networkDetectors } from "./network-detectors.ts";
import { piiEntityTypes, type PiiEntityType, type PiiSpan } from "./schema.ts";

/**
 * The table of PII detectors, one per entity type, and the two steps every scan shares:
 * collect every candidate, then resolve overlaps so each character belongs to at most one
 * finding (the more specific type wins, then the longer span).
 */
export const piiDetectors = {
  ...contactDetectors,
  ...financialDetectors,
  ...networkDetectors,
  ...credentialDetectors,
} satisfies PiiDetectorTable;

/**
 * Every candidate of every type, overlaps included, sorted by start. A detector runs only on
 * text that passes its cue; a cue shared by the detectors next to it is tested once.
 */
export function detectCandidates(
  text: string,
  types: readonly PiiEntityType[] = piiEntityTypes,
): PiiSpan[] {
  let spans: PiiSpan[] | undefined;
  let cue: PiiDetector["cue"] | undefined;
  let cued = false;
  for (const type of types) {
    const detector: PiiDetector = piiDetectors[type];
    if (detector.cue !== cue) {
      cue = detector.cue;
      cued = cue(text);
    }
    if (!cued) continue;
    const found = detector.detect(text);
    if (found.length > 0) spans = spans === undefined ? found : spans.concat(found);
  }
  if (spans === undefined) return [];
  return spans.length < 2 ? spans : spans.sort((a, b) => a.start - b.start || b.end - a.end);
}

function outranks(a: PiiSpan, b: PiiSpan): number {
  return (
    piiDetectors[b.type].specificity - piiDetectors[a.type].specificity ||
    b.end - b.start - (a.end - a.start) ||
    a.start - b.start
  );
}

/**
 * Keeps a non-overlapping subset of spans sorted by start. Spans are grouped into clusters of
 * transitively overlapping ones; within a cluster the best-ranked spans are kept greedily.
 */
export function resolveOverlaps(sorted: readonly PiiSpan[]): PiiSpan[] {
  const kept: PiiSpan[] = [];
  let cluster: PiiSpan[] = [];
  let clusterEnd = -1;
  const settle = () => {
    if (cluster.length === 1) kept.push(cluster[0]!);
    else if (cluster.length > 1) {
      const chosen: PiiSpan[] = [];
      for (const span of [...cluster].sort(outranks)) {
        if (chosen.every((c) => span.end <= c.start || span.start >= c.end)) chosen.push(span);
      }
      kept.push(...chosen.sort((a, b) => a.start - b.start));
    }
    cluster = [];
  };
  for (const span of sorted) {
    if (span.start >= clusterEnd) settle();
    cluster.push(span);
    clusterEnd = Math.max(clusterEnd, span.end);
  }
  settle();
  return kept;
}

/** The PII in a text: non-overlapping spans, sorted by start. Holds raw values: keep in memory. */
export function detectPii(text: string, types?: readonly PiiEntityType[]): PiiSpan[] {
  const candidates = detectCandidates(text, types);
  return candidates.length < 2 ? candidates : resolveOverlaps(candidates);
}
