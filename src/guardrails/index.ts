export {
  guardrailsSchema,
  guardrailDecisionSchema,
  injectionConfigSchema,
  piiActionSchema,
  piiEntityTypes,
  piiEntityTypeSchema,
  piiPolicySchema,
  redactionStyleSchema,
  type GuardrailDecision,
  type GuardrailsConfig,
  type InjectionConfig,
  type InjectionDecision,
  type PiiAction,
  type PiiDecision,
  type PiiEntityType,
  type PiiFinding,
  type PiiPolicy,
  type PiiSpan,
  type RedactionStyle,
  type TokenLimitDecision,
} from "./schema.ts";
export { detectPii, piiDetectors } from "./pii-detectors.ts";
export { redact, redactionLabel, resolveRedaction, type Redaction } from "./redact.ts";
export { piiDecision, scanText, type PiiScanOptions, type PiiScanResult } from "./scan.ts";
export { scanMessages, type MessagesScanResult } from "./scan-messages.ts";
export { createStreamRedactor, type StreamRedactor } from "./stream-redactor.ts";
export {
  detectInjection,
  evaluateInjection,
  injectionSignals,
  type InjectionResult,
} from "./injection.ts";
export {
  checkMaxInputTokens,
  countInputTokens,
  estimateTokens,
  type TokenCountedMessage,
  type TokenLimitResult,
} from "./token-limit.ts";
