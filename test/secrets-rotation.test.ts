import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { registerSecretCommands } from "../src/cli/secrets.ts";
import { ciphertextKeyId } from "../src/core/crypto.ts";
import { generateKey } from "../src/auth/index.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/**
 * `keel secrets rotate-master-key`: re-encrypts every trace body under a new master key,
 * resumes after an interruption, keeps running servers able to read every body throughout,
 * and never prints a key.
 */

const PROMPTS = ["one", "two", "three", "four", "five"];

async function rotate(args: string[], env: Record<string, string> = {}) {
  const lines: string[] = [];
  const program = new Command("keel").exitOverride().configureOutput({ writeErr: () => undefined });
  registerSecretCommands(program, { env, stderr: { write: (text: string) => lines.push(text) } });
  try {
    await program.parseAsync(["secrets", "rotate-master-key", ...args], { from: "user" });
    return { ok: true, stderr: lines.join(""), error: undefined };
  } catch (err) {
    return { ok: false, stderr: lines.join(""), error: (err as Error).message };
  }
}

function keelConfig(fake: FakeOpenAI): Record<string, unknown> {
  return {
    traces: { encrypt: true, flush_interval_ms: 20 },
    providers: { up: { type: "openai-compatible", base_url: fake.url } },
    models: [{ name: "chat", deployments: [{ provider: "up", model: "m" }] }],
  };
}

/** Writes one encrypted trace per prompt; returns trace id → prompt. */
async function writeTraces(keel: RunningKeel): Promise<Map<string, string>> {
  for (const content of PROMPTS) {
    const res = await fetch(`${keel.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...keel.headers, "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content }] }),
    });
    assert.equal(res.status, 200);
  }
  await keel.keel.traces.flush();
  const rows = await keel.keel.database.db
    .selectFrom("traces")
    .select(["id", "request_body"])
    .execute();
  const byId = new Map<string, string>();
  for (const row of rows) {
    assert.match(row.request_body!, /^v1:/);
    const res = await fetch(`${keel.url}/api/traces/${row.id}`, { headers: keel.headers });
    const body = (await res.json()) as { request_body: { messages: { content: string }[] } };
    byId.set(row.id, body.request_body.messages[0]!.content);
  }
  assert.equal(byId.size, PROMPTS.length);
  return byId;
}

/** Every trace's request and response key ids, as stored. */
async function keyIds(keel: RunningKeel): Promise<string[]> {
  const rows = await keel.keel.database.db
    .selectFrom("traces")
    .select(["request_body", "response_body"])
    .execute();
  return rows.flatMap((r) => [r.request_body!, r.response_body!].map((v) => ciphertextKeyId(v)!));
}

async function assertBodiesRead(keel: RunningKeel, expected: Map<string, string>): Promise<void> {
  for (const [id, content] of expected) {
    const res = await fetch(`${keel.url}/api/traces/${id}`, { headers: keel.headers });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { request_body: { messages: { content: string }[] } };
    assert.equal(body.request_body.messages[0]!.content, content);
  }
}

describe("keel secrets rotate-master-key", () => {
  let fake: FakeOpenAI;
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-rotate-"));
    dirs.push(dir);
    return dir;
  };
  before(async () => {
    fake = await startFakeOpenAI();
  });
  after(async () => {
    await fake.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("with the key file: interrupted, resumed, completed; every body reads throughout", async () => {
    const dataDir = tempDir();
    const adminKey = generateKey();
    const env = { KEEL_ADMIN_KEY: adminKey };
    const first = await startKeel(keelConfig(fake), { dataDir, env });
    const prompts = await writeTraces(first);
    const [oldId] = await keyIds(first);
    await first.close();
    const oldKeyText = readFileSync(join(dataDir, "master.key"), "utf8").trim();

    // Interrupted: one value per batch, stopped after 3 of the 10.
    const paused = await rotate(["--data-dir", dataDir, "--batch-size", "1", "--max-rows", "3"]);
    assert.equal(paused.ok, false);
    assert.match(paused.error!, /run the same command again/);
    assert.match(paused.stderr, /keel: 1\/10\n/);
    assert.ok(existsSync(join(dataDir, "master.key.next")), "the new key is staged");
    const newKeyText = readFileSync(join(dataDir, "master.key.next"), "utf8").trim();

    // A server started now still holds the old key as primary, and reads every body.
    const during = await startKeel(keelConfig(fake), { dataDir, env });
    try {
      const ids = await keyIds(during);
      const newId = ids.find((id) => id !== oldId);
      assert.ok(newId, "some values are under the new key");
      assert.ok(ids.includes(oldId!), "some are still under the old key");
      await assertBodiesRead(during, prompts);
    } finally {
      await during.close();
    }

    const resumed = await rotate(["--data-dir", dataDir, "--batch-size", "2"]);
    assert.equal(resumed.ok, true, resumed.error);
    assert.match(resumed.stderr, /\d+\/10\n/);
    assert.match(resumed.stderr, /Restart every server/);
    assert.ok(!existsSync(join(dataDir, "master.key.next")));
    assert.equal(readFileSync(join(dataDir, "master.key"), "utf8").trim(), newKeyText);
    assert.equal(readFileSync(join(dataDir, "master.key.previous"), "utf8").trim(), oldKeyText);
    for (const output of [paused.stderr, resumed.stderr, paused.error!]) {
      assert.ok(!output.includes(oldKeyText) && !output.includes(newKeyText), "no key printed");
    }

    const restarted = await startKeel(keelConfig(fake), { dataDir, env });
    try {
      const ids = new Set(await keyIds(restarted));
      assert.equal(ids.size, 1, "every value is under one key");
      assert.ok(!ids.has(oldId!));
      await assertBodiesRead(restarted, prompts);
    } finally {
      await restarted.close();
    }

    const again = await rotate(["--data-dir", dataDir]);
    assert.equal(again.ok, true, again.error);
  });

  test("with KEEL_MASTER_KEY: the new key comes from a named variable, never printed", async () => {
    const dataDir = tempDir();
    const oldKey = randomBytes(32).toString("base64");
    const newKey = randomBytes(32).toString("hex");
    const adminKey = generateKey();
    const first = await startKeel(keelConfig(fake), {
      dataDir,
      env: { KEEL_ADMIN_KEY: adminKey, KEEL_MASTER_KEY: oldKey },
    });
    const prompts = await writeTraces(first);
    await first.close();

    const refused = await rotate(["--data-dir", dataDir], { KEEL_MASTER_KEY: oldKey });
    assert.equal(refused.ok, false);
    assert.match(refused.error!, /--new-key-env NAME/);
    const unset = await rotate(["--data-dir", dataDir, "--new-key-env", "NEW_KEY"], {
      KEEL_MASTER_KEY: oldKey,
    });
    assert.match(unset.error!, /NEW_KEY, which is not set/);

    const done = await rotate(["--data-dir", dataDir, "--new-key-env", "NEW_KEY"], {
      KEEL_MASTER_KEY: oldKey,
      NEW_KEY: newKey,
    });
    assert.equal(done.ok, true, done.error);
    assert.match(done.stderr, /set KEEL_MASTER_KEY to the value of NEW_KEY/);
    assert.ok(!done.stderr.includes(oldKey) && !done.stderr.includes(newKey));
    assert.ok(!existsSync(join(dataDir, "master.key")), "no key file in env mode");

    const restarted = await startKeel(keelConfig(fake), {
      dataDir,
      env: { KEEL_ADMIN_KEY: adminKey, KEEL_MASTER_KEY: newKey },
    });
    try {
      await assertBodiesRead(restarted, prompts);
    } finally {
      await restarted.close();
    }
  });
});
