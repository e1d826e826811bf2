import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MasterKey } from "./crypto.ts";
import {
  completeKeyFileRotation,
  loadKeyring,
  stageKeyFileRotation,
  KEY_FILE,
  PREVIOUS_KEY_FILE,
  NEXT_KEY_FILE,
} from "./master-key-file.ts";
import { Secret } from "./secret.ts";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-keyring-"));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const place = { table: "t", column: "c", id: "1" };
const bytes = Buffer.alloc(32, 0xab);

describe("key file", () => {
  test("is created on first start with mode 0600 and reused afterwards", () => {
    const dir = join(tempDir(), "data");
    const first = loadKeyring({ dataDir: dir });
    const path = join(dir, KEY_FILE);
    if (process.platform !== "win32") assert.equal(statSync(path).mode & 0o777, 0o600);
    const second = loadKeyring({ dataDir: dir });
    assert.equal(second.primaryId, first.primaryId);
    assert.equal(second.decrypt(first.encrypt("kept", place), place), "kept");
  });

  test(
    "a key file readable by group or others stops the start",
    { skip: process.platform === "win32" },
    () => {
      const dir = tempDir();
      loadKeyring({ dataDir: dir });
      const path = join(dir, KEY_FILE);
      chmodSync(path, 0o644);
      assert.throws(() => loadKeyring({ dataDir: dir }), /chmod 600/);
      chmodSync(path, 0o640);
      assert.throws(() => loadKeyring({ dataDir: dir }), /mode 0640/);
    },
  );

  test("a corrupt key file stops the start and names the file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, KEY_FILE), "not a key\n", { mode: 0o600 });
    assert.throws(() => loadKeyring({ dataDir: dir }), /master key file .*master\.key/);
  });

  test("an environment key wins and no key file is written", () => {
    const dir = tempDir();
    const ring = loadKeyring({ dataDir: dir, masterKey: new Secret(bytes.toString("base64")) });
    assert.equal(ring.primaryId, new MasterKey(bytes).id);
    assert.throws(() => statSync(join(dir, KEY_FILE)), /ENOENT/);
  });

  test("previous environment keys open older values", () => {
    const old = Buffer.alloc(32, 9);
    const sealed = new MasterKey(old).encrypt("legacy", place);
    const ring = loadKeyring({
      dataDir: tempDir(),
      masterKey: new Secret(bytes.toString("hex")),
      previousKeys: [new Secret(old.toString("hex"))],
    });
    assert.equal(ring.decrypt(sealed, place), "legacy");
  });

  test("a key-file rotation stages a new key, then swaps it in keeping the old one", () => {
    const dir = tempDir();
    const before = loadKeyring({ dataDir: dir });
    const oldValue = before.encrypt("old", place);
    const staged = stageKeyFileRotation(dir);
    assert.notEqual(staged.primaryId, before.primaryId);
    assert.equal(stageKeyFileRotation(dir).primaryId, staged.primaryId, "staging is repeatable");
    const newValue = staged.encrypt("new", place);
    // A server that started before the rotation opens values sealed by the staged key.
    assert.equal(before.decrypt(newValue, place), "new");

    completeKeyFileRotation(dir);
    completeKeyFileRotation(dir);
    const after = loadKeyring({ dataDir: dir });
    assert.equal(after.primaryId, staged.primaryId);
    assert.equal(after.decrypt(oldValue, place), "old");
    assert.equal(after.decrypt(newValue, place), "new");
    assert.throws(() => statSync(join(dir, NEXT_KEY_FILE)), /ENOENT/);
    if (process.platform !== "win32") {
      assert.equal(statSync(join(dir, PREVIOUS_KEY_FILE)).mode & 0o777, 0o600);
    }
    assert.ok(readFileSync(join(dir, KEY_FILE), "utf8").trim().length >= 43);
  });
});
