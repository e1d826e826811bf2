import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseInput } from "../core/error-render.ts";
import { KeelError } from "../core/errors.ts";
import { guardrailsSchema } from "./schema.ts";

describe("guardrails config schema", () => {
  test("an empty section detects and records only: allow, mask, flag at 0.5, no token limit", () => {
    assert.deepEqual(guardrailsSchema.parse({}), {
      pii: {
        input: { default_action: "allow", entities: {}, redaction: "mask" },
        output: { default_action: "allow", entities: {}, redaction: "mask" },
      },
      injection: { action: "flag", threshold: 0.5 },
    });
  });

  test("accepts per-type actions, hash redaction, block and a token limit", () => {
    const parsed = guardrailsSchema.parse({
      pii: {
        input: { default_action: "redact", entities: { credit_card: "block" }, redaction: "hash" },
      },
      injection: { action: "block", threshold: 0.7 },
      max_input_tokens: 8000,
    });
    assert.equal(parsed.pii.input.entities.credit_card, "block");
    assert.equal(parsed.pii.output.default_action, "allow");
    assert.equal(parsed.max_input_tokens, 8000);
  });

  test("names the bad field for an unknown entity type, action or key", () => {
    const bad = [
      [{ pii: { input: { entities: { passport: "redact" } } } }, /pii\.input\.entities/],
      [{ pii: { output: { default_action: "mask" } } }, /pii\.output\.default_action/],
      [{ injection: { threshold: 2 } }, /injection\.threshold/],
      [{ max_input_tokens: 0 }, /max_input_tokens/],
      [{ pii_rules: {} }, /pii_rules/],
    ] as const;
    for (const [input, field] of bad) {
      assert.throws(
        () => parseInput(guardrailsSchema, input, "guardrails"),
        (err: unknown) => err instanceof KeelError && err.status === 400 && field.test(err.message),
        JSON.stringify(input),
      );
    }
  });
});
