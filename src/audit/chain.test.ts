import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { AuditLogTable } from "../core/db/tables.ts";
import { ChainVerifier, GENESIS_HASH, canonicalEntry, canonicalJson, entryHash } from "./chain.ts";

const first = {
  seq: 1,
  id: "aud_01HZZZZZZZZZZZZZZZZZZZZZZZ",
  created_at: 1767225600000,
  actor_key_id: "key_1",
  project_id: null,
  ip: "127.0.0.1",
  user_agent: "curl/8",
  action: "keys.create",
  resource_type: "key",
  resource_id: "key_2",
  outcome: "success",
  status_code: 201,
  details: '{"name":"ci"}',
  prev_hash: GENESIS_HASH,
};

function chainOf(count: number): AuditLogTable[] {
  const rows: AuditLogTable[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const fields = { ...first, seq, id: `aud_${seq}`, prev_hash: prev };
    prev = entryHash(fields);
    rows.push({ ...fields, hash: prev });
  }
  return rows;
}

function verify(rows: AuditLogTable[]) {
  const verifier = new ChainVerifier();
  let bad;
  for (const row of rows) {
    const found = verifier.check(row);
    bad ??= found;
  }
  return { bad, entries: verifier.entries, head: verifier.head };
}

describe("audit hash chain", () => {
  test("the hash format is stable: existing logs keep verifying after upgrades", () => {
    assert.equal(
      entryHash(first),
      "ef7725eed1ea6b3b1f518682b99aaaa8eea09a82c2f41f67c279ade47aa62565",
    );
    assert.equal(
      entryHash(first),
      createHash("sha256").update(canonicalEntry(first)).digest("hex"),
    );
  });

  test("numbers read back as strings (bigint drivers) hash the same", () => {
    const asStrings = {
      ...first,
      seq: "1",
      created_at: "1767225600000",
    } as unknown as typeof first;
    assert.equal(entryHash(asStrings), entryHash(first));
  });

  test("canonical JSON sorts keys at every level", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: null, y: "x" }], c: true } }),
      '{"a":{"c":true,"d":[2,{"y":"x","z":null}]},"b":1}',
    );
  });

  test("an intact chain verifies and reports its head", () => {
    const rows = chainOf(5);
    const result = verify(rows);
    assert.equal(result.bad, undefined);
    assert.equal(result.entries, 5);
    assert.deepEqual(result.head, { seq: 5, hash: rows[4]!.hash });
  });

  test("an edited entry is named with hash_mismatch", () => {
    const rows = chainOf(5);
    rows[2] = { ...rows[2]!, outcome: "denied" };
    assert.deepEqual(
      { seq: verify(rows).bad?.seq, reason: verify(rows).bad?.reason },
      { seq: 3, reason: "hash_mismatch" },
    );
  });

  test("an entry edited and re-hashed breaks the link of the next one", () => {
    const rows = chainOf(5);
    const edited = { ...rows[2]!, outcome: "denied" };
    rows[2] = { ...edited, hash: entryHash(edited) };
    assert.equal(verify(rows).bad?.seq, 4);
    assert.equal(verify(rows).bad?.reason, "prev_mismatch");
  });

  test("a deleted entry is named as a gap at the entry after it", () => {
    const rows = chainOf(5);
    rows.splice(1, 1);
    const bad = verify(rows).bad;
    assert.equal(bad?.seq, 3);
    assert.equal(bad?.reason, "seq_gap");
    assert.match(bad?.message ?? "", /entries 2\.\.2 are missing/);
  });

  test("deleting the first entries is detected too", () => {
    assert.equal(verify(chainOf(5).slice(2)).bad?.reason, "seq_gap");
  });

  test("a row whose columns have the wrong types is reported as malformed", () => {
    const rows = chainOf(3);
    rows[1] = { ...rows[1]!, created_at: 1.5 };
    assert.equal(verify(rows).bad?.reason, "malformed");
    assert.equal(verify(rows).bad?.seq, 2);
  });
});
