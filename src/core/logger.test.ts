import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, flushLogger, logDestination } from "./logger.ts";

function tempLog(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-log-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "keel.log");
}

function linesOf(file: string): { msg: string; n?: number }[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; n?: number });
}

test("a lone line reaches the file soon, without waiting for a block to fill", async (t) => {
  const file = tempLog(t);
  const logger = createLogger("info", logDestination(file));
  logger.info("started");
  const deadline = Date.now() + 2_000;
  while (linesOf(file).length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(
    linesOf(file).map((l) => l.msg),
    ["started"],
  );
  await flushLogger(logger);
});

test("every line is written, in order, once the logger is flushed", async (t) => {
  const file = tempLog(t);
  const logger = createLogger("info", logDestination(file));
  for (let n = 0; n < 2_000; n++) logger.info({ n }, "request");
  await flushLogger(logger);
  const ns = linesOf(file).map((l) => l.n);
  assert.equal(ns.length, 2_000);
  assert.deepEqual(
    ns,
    Array.from({ length: 2_000 }, (_, n) => n),
  );
});

test("a process that dies of an uncaught error still writes the lines it logged", (t) => {
  const file = tempLog(t);
  const logger = new URL("./logger.ts", import.meta.url).href;
  const script = `
    const { createLogger, logDestination } = await import(${JSON.stringify(logger)});
    createLogger("info", logDestination(${JSON.stringify(file)})).info("last words");
    setTimeout(() => { throw new Error("boom"); }, 10);
  `;
  assert.throws(() =>
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { stdio: "pipe" }),
  );
  assert.deepEqual(
    linesOf(file).map((l) => l.msg),
    ["last words"],
  );
});
