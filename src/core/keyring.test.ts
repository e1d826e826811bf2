import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MasterKey } from "./crypto.ts";
import { Keyring, parseMasterKey } from "./keyring.ts";
import { Secret } from "./secret.ts";

const place = { table: "t", column: "c", id: "1" };
const bytes = Buffer.alloc(32, 0xab);

describe("master key values", () => {
  test("accepts 32 bytes as hex, base64 and base64url", () => {
    const id = new MasterKey(bytes).id;
    assert.equal(parseMasterKey(bytes.toString("hex"), "KEEL_MASTER_KEY").id, id);
    assert.equal(parseMasterKey(bytes.toString("base64"), "KEEL_MASTER_KEY").id, id);
    assert.equal(parseMasterKey(` ${bytes.toString("base64url")}\n`, "KEEL_MASTER_KEY").id, id);
    assert.equal(parseMasterKey(new Secret(bytes.toString("hex")), "KEEL_MASTER_KEY").id, id);
  });

  test("refuses a wrong-length or non-key value, naming the source and not the value", () => {
    for (const bad of ["", "hunter2-hunter2", Buffer.alloc(16).toString("hex"), "z".repeat(64)]) {
      assert.throws(
        () => parseMasterKey(bad, "KEEL_MASTER_KEY"),
        (err: Error) =>
          err.message.startsWith("KEEL_MASTER_KEY:") &&
          err.message.includes("openssl rand -base64 32") &&
          (bad === "" || !err.message.includes(bad)),
      );
    }
  });
});

describe("keyring", () => {
  test("seals under the primary and opens values of every key it holds", () => {
    const old = new MasterKey(Buffer.alloc(32, 1));
    const current = new MasterKey(Buffer.alloc(32, 2));
    const sealedOld = old.encrypt("a", place);
    const ring = new Keyring(current, [old]);
    assert.equal(ring.decrypt(sealedOld, place), "a");
    const sealedNew = ring.encrypt("b", place);
    assert.equal(ring.needsRotation(sealedNew), false);
    assert.equal(ring.needsRotation(sealedOld), true);
    assert.equal(new Keyring(current).decrypt(sealedNew, place), "b");
  });

  test("a value under a key it does not hold names that key id", () => {
    const stranger = new MasterKey(Buffer.alloc(32, 3));
    const ring = new Keyring(new MasterKey(Buffer.alloc(32, 4)));
    assert.throws(
      () => ring.decrypt(stranger.encrypt("x", place), place),
      (err: Error) => err.message.includes(stranger.id) && err.message.includes("t.c (row 1)"),
    );
  });
});
