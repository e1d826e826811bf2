import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { generateKey } from "../src/auth/index.ts";
import { openDatabase } from "../src/core/db/database.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";

const bin = fileURLToPath(new URL("../bin/keel.js", import.meta.url));
const adminKey = generateKey();

interface Served {
  child: ChildProcess;
  url: string;
  dataDir: string;
  exited: Promise<number | null>;
}

async function serve(upstream: string, graceMs: number): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-shutdown-"));
  const config = join(dataDir, "keel.config.yaml");
  writeFileSync(
    config,
    [
      `server: { shutdown_grace_ms: ${graceMs}, log_level: warn }`,
      `providers: { up: { type: openai-compatible, base_url: "${upstream}" } }`,
      "models:",
      "  - { name: slow, deployments: [{ provider: up, model: slow-upstream }] }",
    ].join("\n"),
  );
  const child = spawn(
    process.execPath,
    [bin, "serve", "--config", config, "--data-dir", dataDir, "--port", "0"],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: process.env.PATH ?? "", KEEL_ADMIN_KEY: adminKey },
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = /on (http:\/\/[^\s]+)\/v1/.exec(text);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`keel exited (${String(code)}): ${text}`)));
  });
  return { child, url, dataDir, exited };
}

async function startStream(url: string) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({
      model: "slow",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    }),
  });
  assert.equal(res.statusCode, 200);
  return res.body;
}

/** Starts a stream, sends SIGTERM once its first bytes arrive, and reads it to the end. */
async function streamThroughSigterm(served: Served): Promise<string> {
  const body = await startStream(served.url);
  let text = "";
  for await (const chunk of body) {
    if (text === "") served.child.kill("SIGTERM");
    text += (chunk as Buffer).toString();
  }
  return text;
}

async function tracesOf(dataDir: string) {
  const database = await openDatabase({ dataDir });
  try {
    return await database.db.selectFrom("traces").selectAll().execute();
  } finally {
    await database.close();
  }
}

describe("graceful shutdown", () => {
  let fake: FakeOpenAI;
  const dirs: string[] = [];
  before(async () => {
    fake = await startFakeOpenAI({ name: "slow" });
  });
  after(async () => {
    await fake.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("SIGTERM during a stream lets it finish and its trace is stored", async () => {
    fake.configure({ reply: "one two three four five six seven eight", chunkDelayMs: 60 });
    const served = await serve(fake.url, 10_000);
    dirs.push(served.dataDir);
    const text = await streamThroughSigterm(served);
    assert.match(text, /data: \[DONE\]/);
    assert.match(text, /eight/);
    assert.equal(await served.exited, 0);

    const traces = await tracesOf(served.dataDir);
    assert.equal(traces.length, 1);
    assert.equal(traces[0]!.status, "ok");
    assert.equal(traces[0]!.stream, 1);
  });

  test("a stream still open at the deadline ends cleanly and is recorded", async () => {
    fake.configure({
      reply: Array.from({ length: 40 }, (_, i) => `w${i}`).join(" "),
      chunkDelayMs: 100,
    });
    const served = await serve(fake.url, 400);
    dirs.push(served.dataDir);
    const text = await streamThroughSigterm(served);
    assert.match(text, /"error"/, "the stream ends with an explicit error event");
    assert.doesNotMatch(text, /w39/, "the stream was cut at the deadline");
    assert.equal(await served.exited, 0);

    const traces = await tracesOf(served.dataDir);
    assert.equal(traces.length, 1);
    assert.equal(traces[0]!.status, "error");
  });
});
