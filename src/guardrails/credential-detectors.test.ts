import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectPii } from "./pii-detectors.ts";
import type { PiiEntityType } from "./schema.ts";

const found = (text: string, type: PiiEntityType) =>
  detectPii(text)
    .filter((s) => s.type === type)
    .map((s) => s.text);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const JWT = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "42", name: "Ann" })}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`;

describe("JWT detector", () => {
  test("finds a signed token and an unsigned one (alg none), at sentence end too", () => {
    const unsigned = `${b64({ alg: "none" })}.${b64({ sub: "1" })}.`;
    assert.deepEqual(found(`Bearer ${JWT}. Expired?`, "jwt"), [JWT]);
    assert.deepEqual(found(`token ${unsigned} here`, "jwt"), [unsigned]);
  });

  test("rejects three base64url segments whose header has no alg", () => {
    const fake = `${b64({ foo: "bar" })}.${b64({ n: 1 })}.abcdefghijklmnop`;
    assert.deepEqual(found(`not a JWT: ${fake}`, "jwt"), []);
  });
});

describe("API key detector", () => {
  const keys = [
    "sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7s",
    "sk-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9wY1aC3",
    "sk-ant-api03-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7s-AA",
    "sk-keel-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "ghp_Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5",
    "github_pat_11ABCDEFG0123456789abc_Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9wY1aC3eG5iK7",
    "xoxb-123456789012-1234567890123-Ab3dE5gH7jK9mN1pQ3sT5vX7",
    "glpat-Ab3dE5gH7jK9mN1pQ3sT",
    "AIzaSyAb3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3",
    "sk_live_Ab3dE5gH7jK9mN1pQ3sT5vX7",
    "rk_live_Ab3dE5gH7jK9mN1pQ3sT5vX7",
  ];
  test("finds keys of each known vendor format", () => {
    for (const key of keys) assert.deepEqual(found(`key: ${key}.`, "api_key"), [key], key);
  });

  test("ignores placeholders, words and prefixes inside other words", () => {
    const text =
      `sk-${"x".repeat(48)} AKIA${"X".repeat(16)} ghp_${"X".repeat(36)} ` +
      "sk-this-is-not-a-real-key-at-all scikit-learn risk-free task-force-alpha-2024";
    assert.deepEqual(found(text, "api_key"), []);
  });
});

describe("secret detector", () => {
  test("finds high-entropy tokens right after key, secret, token or password words", () => {
    const cases = [
      ["AWS_SECRET_ACCESS_KEY=", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
      ['"client_secret": "', "85d01ddfe7445f98f24d7b45d11dc76a"],
      ["Authorization: Bearer ", "Zx8vQ2mP9LkR4tYw7NbC3dF6hJ1kL0pO"],
      ["the signing key is ", "q3V-9xZ_k2LmN8pR4tW6yB1dF5hJ7"],
      ["password: ", "Summer2024!x"],
      ["pwd=", "Tr0ub4dor&3"],
      ["db password is: ", "C0rrect-H0rse!"],
    ];
    for (const [before, value] of cases) {
      assert.deepEqual(found(`${before}${value}. ok`, "secret"), [value], value);
    }
  });

  test("ignores low-entropy, word-like and distant values", () => {
    const text =
      "api_key: YOUR_API_KEY_HERE, password: ********, secretName: db-credentials-prod-2, " +
      "token: getUserAccessTokenForRequest, the token limit is 4096, password reset link " +
      "https://example.com/reset?id=123456, key path /etc/keel/master.key, " +
      "Zx8vQ2mP9LkR4tYw7NbC3dF6hJ1kL0pO without any word before it";
    assert.deepEqual(found(text, "secret"), []);
  });

  test("an API key after a key word is reported as an api_key, not a secret", () => {
    const [span, ...rest] = detectPii(
      "OPENAI_API_KEY=sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7s",
    );
    assert.equal(span?.type, "api_key");
    assert.deepEqual(rest, []);
  });
});
