import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import type { AuditLogTable } from "../core/db/tables.ts";
import { seededRandom } from "../core/random.ts";
import { ChainVerifier, GENESIS_HASH, canonicalEntry, canonicalJson, entryHash } from "./chain.ts";
import type { JsonValue } from "./redact.ts";

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

/**
 * canonicalJson as first written, sorting keys at every level. Stored details must stay these
 * exact bytes, however canonicalJson gets to them.
 */
function sortedEverywhere(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedEverywhere).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedEverywhere(value[k]!)}`).join(",")}}`;
}

/** The text written, or the error thrown. */
function outcome(write: () => string): string {
  try {
    return `wrote ${write()}`;
  } catch (err) {
    return `threw ${String(err)}`;
  }
}

/**
 * Random JSON-ish values: objects built in sorted key order about half the time (the fast
 * path), and the odd values a JsonValue can hide at runtime (holes, undefined, -0, NaN,
 * bigint, integer-like and escaped keys, `__proto__`, toJSON, dates, boxed numbers, objects
 * and arrays without a prototype).
 */
function randomValues(seed: number, count: number): JsonValue[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const keys = ["a", "b", "B", "_", "", "0", "2", "10", "method", "route", "request_id", "é"];
  const oddKeys = ['"q"', "a\u0000", "\ud800", "toJSON", "__proto__"];
  const strings = ["", "POST", "/v1/chat/completions", 'say "hi"\n', "\u0000", "\udc00x", "😀"];
  const numbers = [0, -0, 1, -7, 2 ** 53 - 1, 0.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY];
  const odd = (): unknown =>
    pick([
      undefined,
      10n,
      new Date(0),
      new Number(3),
      { toJSON: () => "x" },
      Object.create(null) as object,
      Object.setPrototypeOf(["a"], null) as unknown,
      () => 1,
    ]);

  const value = (depth: number): unknown => {
    const roll = random();
    if (depth > 3 || roll < 0.35) return pick(strings);
    if (roll < 0.45) return pick(numbers);
    if (roll < 0.5) return pick([true, false, null]);
    if (roll < 0.53) return odd();
    if (roll < 0.7) {
      const items = Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      if (random() < 0.1) items.length += 2; // holes
      return items;
    }
    const names = [...new Set(Array.from({ length: Math.floor(random() * 5) }, () => pick(keys)))];
    if (random() < 0.1) names.push(pick(oddKeys));
    if (random() < 0.5) names.sort();
    const object: Record<string, unknown> = {};
    for (const name of names) object[name] = value(depth + 1);
    return object;
  };
  return Array.from({ length: count }, () => value(0) as JsonValue);
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

  test("canonical JSON is byte for byte the sort-everything text, whatever the key order", () => {
    let sortedCount = 0;
    for (const value of randomValues(20_260_101, 5_000)) {
      const expected = outcome(() => sortedEverywhere(value));
      assert.equal(
        outcome(() => canonicalJson(value)),
        expected,
        inspect(value),
      );
      const nested = typeof value === "object" && value !== null;
      if (nested && expected === outcome(() => JSON.stringify(value))) sortedCount++;
    }
    // Enough objects and arrays already in order that the JSON.stringify path is well exercised.
    assert.ok(sortedCount > 1_000, `${sortedCount} values already in canonical order`);
  });

  test("a toJSON planted on Object.prototype or Array.prototype does not change the text", () => {
    const values: JsonValue[] = [{ a: 1 }, [1, "b"], { a: [{ b: null }] }];
    const expected = values.map(sortedEverywhere);
    for (const prototype of [Object.prototype, Array.prototype]) {
      Object.defineProperty(prototype, "toJSON", { value: () => "planted", configurable: true });
      try {
        assert.deepEqual(values.map(canonicalJson), expected);
      } finally {
        delete (prototype as { toJSON?: unknown }).toJSON;
      }
    }
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
