import { createHmac } from "node:crypto";
import { KeelError } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";
import type { PiiEntityType, PiiSpan, RedactionStyle } from "./schema.ts";

/**
 * Replacing detected values. `mask` writes the type (`[EMAIL]`, `[CREDIT_CARD]`); `hash`
 * writes the type and six hex digits of an HMAC-SHA256 of the normalised value under a
 * secret key (`[EMAIL:3f9a1c]`), so the same value always gets the same tag (a conversation
 * stays readable) while the value cannot be recovered or guessed without the key.
 */

export type Redaction = { style: "mask" } | { style: "hash"; key: Secret };

/** Separator-free, case-folded form, so `4111 1111…` and `4111-1111…` hash alike. */
function normalise(type: PiiEntityType, value: string): string {
  switch (type) {
    case "email":
    case "ipv6":
      return value.toLowerCase();
    case "phone":
    case "credit_card":
    case "us_ssn":
      return value.replace(/\D/g, "");
    case "iban":
      return value.replaceAll(" ", "");
    default:
      return value;
  }
}

export function redactionLabel(span: Pick<PiiSpan, "type" | "text">, redaction: Redaction): string {
  const name = span.type.toUpperCase();
  if (redaction.style === "mask") return `[${name}]`;
  const digest = createHmac("sha256", redaction.key.reveal())
    .update(`${span.type}:${normalise(span.type, span.text)}`)
    .digest("hex");
  return `[${name}:${digest.slice(0, 6)}]`;
}

/** `text` with every span (non-overlapping, sorted by start) replaced by its label. */
export function redact(text: string, spans: readonly PiiSpan[], redaction: Redaction): string {
  let out = "";
  let at = 0;
  for (const span of spans) {
    if (span.start < at) continue;
    out += text.slice(at, span.start) + redactionLabel(span, redaction);
    at = span.end;
  }
  return out + text.slice(at);
}

/** One for every scan: scans resolve their redaction per request, most of them to this. */
const MASK: Redaction = Object.freeze({ style: "mask" });

/**
 * The redaction a policy asks for. `hash` needs a key (the caller's, from its keyring): without
 * one this is a configuration error, raised when the guardrail is set up, not per request.
 */
export function resolveRedaction(style: RedactionStyle, hashKey: Secret | undefined): Redaction {
  if (style === "mask") return MASK;
  if (hashKey === undefined) {
    throw new KeelError(
      "config_invalid",
      'guardrails pii redaction "hash" needs a hash key: pass one, or use redaction "mask"',
    );
  }
  return { style, key: hashKey };
}
