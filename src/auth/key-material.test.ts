import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { displayPrefix, generateKey, hashesEqual, hashKey, isKeyFormat } from "./key-material.ts";

describe("API key material", () => {
  test("generated keys are sk-keel- and 43 base62 characters, all different", () => {
    const keys = new Set(Array.from({ length: 500 }, () => generateKey()));
    assert.equal(keys.size, 500);
    for (const key of keys) {
      assert.match(key, /^sk-keel-[0-9A-Za-z]{43}$/);
      assert.ok(isKeyFormat(key));
    }
  });

  test("operator keys may use base64url characters; short or foreign strings are refused", () => {
    assert.ok(isKeyFormat(`sk-keel-${"a_B-".repeat(8)}`));
    assert.ok(!isKeyFormat(`sk-keel-${"a".repeat(31)}`), "too short");
    assert.ok(!isKeyFormat(`sk-keel-${"a".repeat(32)}=`), "padding");
    assert.ok(!isKeyFormat(`sk-proj-${"a".repeat(40)}`), "another vendor");
  });

  test("listings show the first 12 characters", () => {
    assert.equal(displayPrefix("sk-keel-AbCdEfGh"), "sk-keel-AbCd");
  });

  test("the stored hash is SHA-256 hex and compares in constant time", () => {
    const key = generateKey();
    const hash = hashKey(key);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.ok(hashesEqual(hash, hashKey(key)));
    assert.ok(!hashesEqual(hash, hashKey(generateKey())));
    assert.ok(!hashesEqual(hash, hash.slice(0, 10)));
  });
});
