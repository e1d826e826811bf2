import { test } from "node:test";
import assert from "node:assert/strict";
import { idFloor, idTime, newId } from "./ids.ts";

test("ids carry their prefix and sort by creation time", () => {
  const a = newId("trace", 1_700_000_000_000);
  const b = newId("trace", 1_700_000_000_001);
  const c = newId("trace", 1_800_000_000_000);
  assert.match(a, /^trc_[0-9A-Z]{26}$/);
  assert.deepEqual([c, a, b].sort(), [a, b, c]);
  assert.equal(idTime(a), 1_700_000_000_000);
});

test("ids made in the same millisecond are distinct", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newId("request", 42)));
  assert.equal(ids.size, 1000);
});

test("idTime rejects foreign strings", () => {
  assert.equal(idTime("trc_not-an-id"), undefined);
});

test("the random part uses every character of the alphabet about equally", () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    for (const ch of newId("trace", 42).slice(14)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  // 32,000 characters over 32 symbols: 1,000 each on average.
  assert.equal(counts.size, 32);
  for (const n of counts.values()) assert.ok(n > 800 && n < 1200, `count ${n}`);
});

test("idFloor turns a time into the smallest id made then, clamped to what ids can hold", () => {
  const id = newId("audit", 1_700_000_000_000);
  assert.ok(idFloor("audit", 1_700_000_000_000) <= id);
  assert.ok(idFloor("audit", 1_700_000_000_001) > id);
  // Before 1970 (an ISO date in a filter): below every id, not a malformed string.
  assert.match(idFloor("audit", -86_400_000), /^aud_0{26}$/);
  assert.ok(idFloor("audit", -86_400_000) <= newId("audit", 0));
  assert.equal(idFloor("audit", 2 ** 60), idFloor("audit", 2 ** 50 - 1));
  assert.match(idFloor("audit", 2 ** 60), /^aud_Z{10}0{16}$/);
});
