import { isIPv6 } from "node:net";
import { charSet, containsDigit, eachMatch, regexSpans, type PiiDetector } from "./detector.ts";
import type { PiiEntityType, PiiSpan } from "./schema.ts";

/**
 * IP addresses. IPv4 is four decimal octets of at most 255, not part of a longer dotted
 * number (so `v1.2.3`, `10.0.19045.3693` and dates are not addresses). IPv6 candidates are
 * hex groups and colons (with `::` compression and an embedded IPv4 tail) confirmed by
 * `net.isIPv6`, so times (`14:30:00`) and MAC addresses are rejected.
 */

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`(?<![\\w.])(?:${OCTET}\\.){3}${OCTET}(?![\\w]|\\.\\d)`, "g");
const IPV6 =
  /(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![\w:]|\.\d)/g;

function detectIpv6(text: string): PiiSpan[] {
  const spans: PiiSpan[] = [];
  if (!/[0-9A-Fa-f]:[0-9A-Fa-f:]|::/.test(text)) return spans;
  eachMatch(IPV6, text, (match) => {
    let value = match[0];
    if (value.endsWith(":") && !value.endsWith("::")) value = value.slice(0, -1);
    if (!/[0-9A-Fa-f]/.test(value) || !isIPv6(value)) return;
    const start = match.index;
    spans.push({ type: "ipv6", start, end: start + value.length, text: value, confidence: 0.9 });
  });
  return spans;
}

export const networkDetectors = {
  ipv4: {
    specificity: 50,
    cue: containsDigit,
    detect: (text) => (/\d\.\d/.test(text) ? regexSpans(text, IPV4, "ipv4", () => 0.9) : []),
    partial: {
      chars: charSet("0-9."),
      maxLength: 16,
      viable: (text, start) => /\d/.test(text.slice(start)),
    },
  },
  ipv6: {
    specificity: 50,
    cue: (text) => text.includes(":"),
    detect: detectIpv6,
    partial: {
      chars: charSet("0-9A-Fa-f:."),
      maxLength: 46,
      // Without a colon yet, only a first group of at most four hex digits can grow into one.
      viable: (text, start) => text.length - start <= 4 || text.includes(":", start),
    },
  },
} satisfies Partial<Record<PiiEntityType, PiiDetector>>;
