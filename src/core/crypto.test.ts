import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import {
  MasterKey,
  ciphertextKeyId,
  generateMasterKeyBytes,
  isCiphertext,
  parseCiphertext,
} from "./crypto.ts";
import { KeelError } from "./errors.ts";

const key = new MasterKey(Buffer.alloc(32, 7));
const other = new MasterKey(Buffer.alloc(32, 8));
const place = { table: "providers", column: "api_key", id: "prv_1" };

describe("AES-256-GCM values", () => {
  test("a sealed value opens to the same text and never contains it", () => {
    const sealed = key.encrypt("sk-live-very-secret", place);
    assert.ok(!sealed.includes("sk-live"));
    assert.equal(key.decrypt(sealed, place), "sk-live-very-secret");
  });

  test("the stored form is v1:<key-id>:<iv>:<tag>:<ciphertext> in base64url", () => {
    const sealed = key.encrypt("x", place);
    assert.match(sealed, /^v1:[0-9a-f]{16}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    assert.equal(ciphertextKeyId(sealed), key.id);
    assert.ok(isCiphertext(sealed));
    assert.equal(parseCiphertext(sealed).keyId, key.id);
  });

  test("sealing twice gives different ciphertexts (fresh iv)", () => {
    assert.notEqual(key.encrypt("same", place), key.encrypt("same", place));
  });

  test("a ciphertext copied to another row, column or table does not open", () => {
    const sealed = key.encrypt("secret", place);
    for (const moved of [
      { ...place, id: "prv_2" },
      { ...place, column: "webhook_secret" },
      { ...place, table: "webhooks" },
    ]) {
      assert.throws(() => key.decrypt(sealed, moved), /does not authenticate/);
    }
  });

  test("an altered ciphertext does not open", () => {
    const sealed = key.encrypt("secret", place);
    const parts = sealed.split(":");
    const body = Buffer.from(parts[4]!, "base64url");
    body[0] = body[0]! ^ 1;
    parts[4] = body.toString("base64url");
    assert.throws(() => key.decrypt(parts.join(":"), place), /does not authenticate/);
  });

  test("another key does not open it", () => {
    assert.throws(() => other.decrypt(key.encrypt("s", place), place), KeelError);
  });

  test("malformed stored values are refused, not decrypted", () => {
    for (const bad of ["", "plain text", "v2:abc:d:e:f", "v1:zz:a:b:c", `v1:${key.id}:AA:AA:AA`]) {
      assert.throws(() => parseCiphertext(bad), KeelError);
    }
    assert.equal(ciphertextKeyId('{"json":true}'), undefined);
  });

  test("key ids are stable per key and distinct across keys", () => {
    assert.equal(new MasterKey(Buffer.alloc(32, 7)).id, key.id);
    assert.notEqual(key.id, other.id);
  });

  test("a master key never prints its bytes", () => {
    const shown = [String(key), JSON.stringify({ key }), inspect(key)].join(" ");
    assert.ok(!shown.includes("0707"));
    assert.ok(shown.includes(key.id));
  });

  test("a master key of the wrong length is refused", () => {
    assert.throws(() => new MasterKey(Buffer.alloc(16)), /32 bytes/);
  });
});

describe("derived keys", () => {
  test("are stable per master key and purpose, and differ across both", () => {
    const a = new MasterKey(generateMasterKeyBytes());
    const b = new MasterKey(generateMasterKeyBytes());
    assert.equal(a.deriveKey("p").length, 32);
    assert.deepEqual(a.deriveKey("p"), a.deriveKey("p"));
    assert.notDeepEqual(a.deriveKey("p"), a.deriveKey("q"));
    assert.notDeepEqual(a.deriveKey("p"), b.deriveKey("p"));
  });
});
