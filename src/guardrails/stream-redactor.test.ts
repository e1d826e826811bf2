import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Secret } from "../core/secret.ts";
import { generatePiiCorpus } from "../../test/fixtures/pii-corpus.ts";
import { createRng } from "../../test/fixtures/pii-values.ts";
import { scanText } from "./scan.ts";
import { piiPolicySchema, type PiiPolicy } from "./schema.ts";
import { createStreamRedactor } from "./stream-redactor.ts";

const redactAll = piiPolicySchema.parse({ default_action: "redact" });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const VALUES = {
  email: "ann.lee+news@mail.example.org",
  phone: "+1 (415) 555-0123",
  credit_card: "4111 1111 1111 1111",
  iban: "DE89 3704 0044 0532 0130 00",
  us_ssn: "123-45-6789",
  ipv4: "192.168.10.254",
  ipv6: "2001:db8:85a3::8a2e:370:7334",
  jwt: `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ sub: "42" })}.${"Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI".repeat(11)}`,
  api_key: "sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7s",
  secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

function streamed(text: string, cuts: readonly number[], policy: PiiPolicy = redactAll): string {
  const redactor = createStreamRedactor(policy);
  let out = "";
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    out += redactor.push(text.slice(at, cut));
    at = cut;
  }
  return out + redactor.flush();
}

describe("createStreamRedactor", () => {
  test("redacts a value of every type split into two deltas at every position", () => {
    for (const [type, value] of Object.entries(VALUES)) {
      const text = `Here: the secret_key is ${value}. Done`;
      const expected = scanText(text, redactAll).redactedText;
      assert.match(expected, new RegExp(`\\[${type.toUpperCase()}\\]`), type);
      for (let cut = 0; cut <= text.length; cut++) {
        const out = streamed(text, [cut]);
        assert.equal(out, expected, `${type} split at ${cut}`);
      }
    }
  });

  test("redacts values streamed one character at a time", () => {
    const text = Object.values(VALUES).join(" and ");
    const cuts = Array.from({ length: text.length }, (_, i) => i);
    assert.equal(streamed(text, cuts), scanText(text, redactAll).redactedText);
  });

  test("matches scanText on the labelled corpus under random chunking, hash style included", () => {
    const rng = createRng(7);
    const hashKey = new Secret("stream-test-key");
    const hashed = piiPolicySchema.parse({ default_action: "redact", redaction: "hash" });
    for (const doc of generatePiiCorpus({ seed: 11, perType: 6, negatives: 10 })) {
      const cuts: number[] = [];
      for (let at = 0; at < doc.text.length; at += 1 + Math.floor(rng() * 9)) cuts.push(at);
      const redactor = createStreamRedactor(hashed, { hashKey });
      let out = "";
      let at = 0;
      for (const cut of [...cuts, doc.text.length]) {
        out += redactor.push(doc.text.slice(at, cut));
        at = cut;
      }
      out += redactor.flush();
      assert.equal(out, scanText(doc.text, hashed, { hashKey }).redactedText, doc.text);
    }
  });

  test("emits prose at once, holding back at most the last partial word", () => {
    const redactor = createStreamRedactor(redactAll);
    assert.equal(redactor.push("The weather is nice today and "), "The weather is nice today and ");
    assert.equal(redactor.heldLength, 0);
    assert.equal(redactor.push("tomor"), "");
    assert.equal(redactor.heldLength, 5);
    assert.equal(redactor.push("row."), "");
    assert.equal(redactor.push(" Bye"), "tomorrow. ");
    assert.equal(redactor.flush(), "Bye");
  });

  test("holds back a bounded tail however long the run of look-alike characters", () => {
    const redactor = createStreamRedactor(redactAll);
    let maxHeld = 0;
    for (let i = 0; i < 2_000; i++) {
      redactor.push(i % 2 === 0 ? "1 2 3 4 5 " : "abcdefghij");
      maxHeld = Math.max(maxHeld, redactor.heldLength);
    }
    assert.ok(maxHeld <= 270, `held ${maxHeld} characters`);
    redactor.flush();
    assert.equal(redactor.heldLength, 0);
  });

  test("a blocked type is never emitted and turns the action to block", () => {
    const policy = piiPolicySchema.parse({ entities: { credit_card: "block" } });
    const redactor = createStreamRedactor(policy);
    let out = "";
    for (const delta of ["pay with 4111 11", "11 1111 1111 now", ", mail a@example.com"]) {
      out += redactor.push(delta);
    }
    out += redactor.flush();
    assert.equal(out, "pay with [CREDIT_CARD] now, mail a@example.com");
    assert.equal(redactor.action, "block");
    assert.deepEqual(redactor.findings(), [
      { type: "email", count: 1, action: "allow" },
      { type: "credit_card", count: 1, action: "block" },
    ]);
  });
});
