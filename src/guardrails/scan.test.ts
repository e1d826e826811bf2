import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeelError } from "../core/errors.ts";
import { Secret } from "../core/secret.ts";
import { redact } from "./redact.ts";
import { detectPii } from "./pii-detectors.ts";
import { piiDecision, scanText } from "./scan.ts";
import { guardrailDecisionSchema, piiPolicySchema } from "./schema.ts";

const policy = (input: unknown) => piiPolicySchema.parse(input);
const TEXT =
  "I'm ann.lee@example.com, card 4111 1111 1111 1111, phone +1 415 555 0123, again ann.lee@example.com.";

describe("scanText", () => {
  test("the default policy allows everything but still reports what it found", () => {
    const result = scanText(TEXT, policy({}));
    assert.equal(result.action, "allow");
    assert.equal(result.redactedText, TEXT);
    assert.deepEqual(result.findings, [
      { type: "email", count: 2, action: "allow" },
      { type: "phone", count: 1, action: "allow" },
      { type: "credit_card", count: 1, action: "allow" },
    ]);
  });

  test("redacts with type masks and keeps the rest of the text", () => {
    const result = scanText(TEXT, policy({ default_action: "redact" }));
    assert.equal(result.action, "redact");
    assert.equal(
      result.redactedText,
      "I'm [EMAIL], card [CREDIT_CARD], phone [PHONE], again [EMAIL].",
    );
  });

  test("per-type actions override the default; block wins over redact", () => {
    const result = scanText(
      TEXT,
      policy({ default_action: "redact", entities: { phone: "allow", credit_card: "block" } }),
    );
    assert.equal(result.action, "block");
    assert.equal(
      result.redactedText,
      "I'm [EMAIL], card [CREDIT_CARD], phone +1 415 555 0123, again [EMAIL].",
    );
    assert.deepEqual(
      result.findings.map((f) => [f.type, f.action]),
      [
        ["email", "redact"],
        ["phone", "allow"],
        ["credit_card", "block"],
      ],
    );
  });

  test("hash redaction gives equal values equal tags, different values different tags", () => {
    const key = new Secret("test-hash-key");
    const text =
      "a@example.com, A@EXAMPLE.COM, b@example.com, 4111-1111-1111-1111 = 4111 1111 1111 1111";
    const { redactedText } = scanText(
      text,
      policy({ default_action: "redact", redaction: "hash" }),
      {
        hashKey: key,
      },
    );
    const tags = redactedText.match(/\[[A-Z_]+:[0-9a-f]{6}\]/g) ?? [];
    assert.equal(tags.length, 5);
    assert.equal(tags[0], tags[1], "email case does not matter");
    assert.notEqual(tags[0], tags[2]);
    assert.equal(tags[3], tags[4], "card separators do not matter");
    const other = scanText(text, policy({ default_action: "redact", redaction: "hash" }), {
      hashKey: new Secret("another-key"),
    });
    assert.notEqual(other.redactedText, redactedText, "the tag depends on the key");
  });

  test("hash redaction without a key is a configuration error that says what to do", () => {
    assert.throws(
      () => scanText(TEXT, policy({ redaction: "hash" })),
      (err: unknown) =>
        err instanceof KeelError && err.code === "config_invalid" && /hash key/.test(err.message),
    );
  });

  test("the trace decision holds types and counts, never the values", () => {
    const result = scanText(TEXT, policy({ default_action: "block" }));
    const decision = piiDecision("input", result);
    const json = JSON.stringify(decision);
    assert.doesNotMatch(json, /ann\.lee|4111|415/);
    assert.deepEqual(guardrailDecisionSchema.parse(JSON.parse(json)), decision);
    assert.equal(decision.action, "block");
  });
});

describe("redact", () => {
  test("replaces spans by their masks, leaving text between them intact", () => {
    const text = "x ann@example.com y 10.0.0.1 z";
    assert.equal(redact(text, detectPii(text), { style: "mask" }), "x [EMAIL] y [IPV4] z");
  });
});
