import type { MasterKey } from "../core/crypto.ts";
import { KeelError } from "../core/errors.ts";
import { Secret } from "../core/secret.ts";
import {
  resolveRedaction,
  type GuardrailsConfig,
  type PiiEntityType,
  type PiiFinding,
  type PiiPolicy,
  type PiiScanOptions,
} from "../guardrails/index.ts";

/**
 * A model route's guardrails, checked once at start-up: a `hash` redaction without a key is a
 * configuration error then, never a failed request later.
 *
 * Block semantics (documented for clients):
 * - input PII with action `block`, or an injection score at the threshold with action `block`:
 *   400 `guardrail_blocked`, naming the entity types or the injection signals, never values;
 * - input over `max_input_tokens`: 400 `context_length_exceeded` naming the limit;
 * - output PII with action `block` in a non-streamed answer: the answer is withheld, 422
 *   `guardrail_blocked`; in a stream, the text up to the value has been sent, then the stream
 *   ends with an error event and a final chunk whose `finish_reason` is `content_filter`.
 *   The blocked value itself never reaches the client.
 */
export class RouteGuardrails {
  readonly config: GuardrailsConfig;
  readonly scanOptions: PiiScanOptions;
  /** False when every input entity is allowed: detection only records, the text is unchanged. */
  readonly inputActs: boolean;
  readonly outputActs: boolean;

  constructor(model: string, config: GuardrailsConfig, hashKey: Secret | undefined) {
    this.config = config;
    this.scanOptions = hashKey === undefined ? {} : { hashKey };
    for (const [stage, policy] of [
      ["input", config.pii.input],
      ["output", config.pii.output],
    ] as const) {
      try {
        resolveRedaction(policy.redaction, hashKey);
      } catch {
        throw new KeelError(
          "config_invalid",
          `models.${model}.guardrails.pii.${stage}.redaction: "hash" needs a master key ` +
            `(the redaction key is derived from it); give the gateway one or use "mask"`,
        );
      }
    }
    this.inputActs = acts(config.pii.input);
    this.outputActs = acts(config.pii.output);
  }
}

function acts(policy: PiiPolicy): boolean {
  return (
    policy.default_action !== "allow" || Object.values(policy.entities).some((a) => a !== "allow")
  );
}

/**
 * The key `hash` redaction uses: derived from the master key (KEEL_MASTER_KEY or the data
 * dir's key file), so labels never expose it and stay the same across restarts.
 */
export function redactionKey(masterKey: MasterKey | undefined): Secret | undefined {
  if (masterKey === undefined) return undefined;
  return new Secret(masterKey.deriveKey("keel/guardrails/pii-redaction/v1").toString("hex"));
}

/** The entity types a scan blocked, for an error message (types only, never values). */
export function blockedTypes(findings: readonly PiiFinding[]): PiiEntityType[] {
  return findings.filter((f) => f.action === "block").map((f) => f.type);
}

export function inputPiiBlocked(findings: readonly PiiFinding[], param: string): KeelError {
  const types = blockedTypes(findings);
  return new KeelError(
    "guardrail_blocked",
    `the input contains ${types.join(", ")}, which this model's guardrails block: remove ` +
      `${types.length === 1 ? "it" : "them"} and retry`,
    { param, details: { guardrail: "pii", stage: "input", entities: types } },
  );
}

export function outputPiiBlocked(findings: readonly PiiFinding[]): KeelError {
  const types = blockedTypes(findings);
  return new KeelError(
    "guardrail_blocked",
    `the model's answer contained ${types.join(", ")}, which this model's guardrails block; ` +
      `the answer was withheld`,
    { status: 422, details: { guardrail: "pii", stage: "output", entities: types } },
  );
}
