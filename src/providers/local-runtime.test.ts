import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../core/logger.ts";
import { loadLlama } from "./local-runtime.ts";

test("a llama.cpp runtime disposed at the process's beforeExit is replaced, not handed out", async () => {
  const logger = createLogger("silent");
  const first = await loadLlama(logger);
  assert.equal(await loadLlama(logger), first, "one runtime per process");
  // What node-llama-cpp does when the event loop runs empty between two Keel instances.
  await first.dispose();
  const [a, b] = await Promise.all([loadLlama(logger), loadLlama(logger)]);
  assert.notEqual(a, first);
  assert.equal(a, b, "concurrent callers share the replacement");
  assert.equal(a.disposed, false);
  await a.dispose();
});
