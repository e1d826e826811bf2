import { z } from "zod";

/**
 * The guardrails contract: the config section a model route carries, the spans detectors
 * return and the decisions recorded in traces. Decisions hold entity types, counts, scores
 * and signal names, never the detected values, so they can be stored and shown as they are.
 */

export const piiEntityTypes = [
  "email",
  "phone",
  "credit_card",
  "iban",
  "us_ssn",
  "ipv4",
  "ipv6",
  "jwt",
  "api_key",
  "secret",
] as const;

export const piiEntityTypeSchema = z.enum(piiEntityTypes);
export const piiActionSchema = z.enum(["allow", "redact", "block"]);
/** `mask` writes `[EMAIL]`; `hash` writes `[EMAIL:3f9a1c]`, equal values giving equal tags. */
export const redactionStyleSchema = z.enum(["mask", "hash"]);

export const piiPolicySchema = z
  .object({
    /** What happens to an entity type not listed in `entities`. `allow` still records it. */
    default_action: piiActionSchema.default("allow"),
    entities: z.partialRecord(piiEntityTypeSchema, piiActionSchema).default({}),
    redaction: redactionStyleSchema.default("mask"),
  })
  .strict();

export const injectionConfigSchema = z
  .object({
    /** `flag` records the score in the trace; `block` refuses the request at the threshold. */
    action: z.enum(["flag", "block"]).default("flag"),
    threshold: z.number().min(0).max(1).default(0.5),
  })
  .strict();

/** The `guardrails` section of a model route. An empty section detects and records only. */
export const guardrailsSchema = z
  .object({
    pii: z
      .object({
        /** Applied to the request's messages before they leave for the provider. */
        input: piiPolicySchema.prefault({}),
        /** Applied to the answer (streamed or not) before it reaches the client. */
        output: piiPolicySchema.prefault({}),
      })
      .strict()
      .prefault({}),
    injection: injectionConfigSchema.prefault({}),
    /** Refuse requests whose estimated input is longer than this many tokens. */
    max_input_tokens: z.number().int().positive().optional(),
  })
  .strict();

export type PiiEntityType = z.infer<typeof piiEntityTypeSchema>;
export type PiiAction = z.infer<typeof piiActionSchema>;
export type RedactionStyle = z.infer<typeof redactionStyleSchema>;
export type PiiPolicy = z.infer<typeof piiPolicySchema>;
export type InjectionConfig = z.infer<typeof injectionConfigSchema>;
export type GuardrailsConfig = z.infer<typeof guardrailsSchema>;

/**
 * One detected value, at `text.slice(start, end)` (UTF-16 offsets, as JavaScript strings
 * index). `text` is the raw value: keep spans in memory, never store or log them.
 */
export interface PiiSpan {
  type: PiiEntityType;
  start: number;
  end: number;
  text: string;
  /** 0..1: 0.99 for a checksum-validated value, lower for context-based guesses. */
  confidence: number;
}

export const piiFindingSchema = z.object({
  type: piiEntityTypeSchema,
  count: z.number().int().positive(),
  action: piiActionSchema,
});

export const piiDecisionSchema = z.object({
  guardrail: z.literal("pii"),
  stage: z.enum(["input", "output"]),
  action: piiActionSchema,
  findings: z.array(piiFindingSchema),
});

export const injectionDecisionSchema = z.object({
  guardrail: z.literal("injection"),
  action: z.enum(["allow", "flag", "block"]),
  score: z.number().min(0).max(1),
  threshold: z.number().min(0).max(1),
  signals: z.array(z.string()),
});

export const tokenLimitDecisionSchema = z.object({
  guardrail: z.literal("max_input_tokens"),
  action: z.enum(["allow", "block"]),
  tokens: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
  /** True when the count is Keel's estimate rather than a tokenizer's. */
  estimated: z.boolean(),
});

/** What a trace records for each guardrail that ran: serialisable, free of detected values. */
export const guardrailDecisionSchema = z.discriminatedUnion("guardrail", [
  piiDecisionSchema,
  injectionDecisionSchema,
  tokenLimitDecisionSchema,
]);

export type PiiFinding = z.infer<typeof piiFindingSchema>;
export type PiiDecision = z.infer<typeof piiDecisionSchema>;
export type InjectionDecision = z.infer<typeof injectionDecisionSchema>;
export type TokenLimitDecision = z.infer<typeof tokenLimitDecisionSchema>;
export type GuardrailDecision = z.infer<typeof guardrailDecisionSchema>;
