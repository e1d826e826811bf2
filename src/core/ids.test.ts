import { test } from "node:test";
import assert from "node:assert/strict";
import { idTime, newId } from "./ids.ts";

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
