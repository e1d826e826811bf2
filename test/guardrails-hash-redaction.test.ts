import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel } from "./helpers/keel.ts";
import { post } from "./helpers/tenants.ts";

/**
 * `redaction: hash` works out of the box: its key is derived from the master key, whether
 * that comes from KEEL_MASTER_KEY or from the key file Keel creates in the data dir. The same
 * value gets the same tag across restarts, and a different master key gives different tags.
 */
const EMAIL = "alice.smith@example.com";

describe("hash redaction of input PII", () => {
  let fake: FakeOpenAI;
  const dirs: string[] = [];
  before(async () => {
    fake = await startFakeOpenAI({ name: "up" });
  });
  after(async () => {
    await fake.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const doc = () => ({
    providers: { up: { type: "openai-compatible", base_url: fake.url } },
    models: [
      {
        name: "hashing",
        guardrails: { pii: { input: { default_action: "redact", redaction: "hash" } } },
        deployments: [{ provider: "up", model: "upstream" }],
      },
    ],
  });

  /** Starts Keel on `dataDir`, sends the email, and returns what the provider received. */
  async function sentUpstream(dataDir: string, env: Record<string, string> = {}): Promise<string> {
    const keel = await startKeel(doc(), { dataDir, env });
    try {
      fake.reset();
      const res = await post(`${keel.url}/v1/chat/completions`, keel.apiKey, {
        model: "hashing",
        messages: [{ role: "user", content: `Write to ${EMAIL} today` }],
      });
      assert.equal(res.status, 200, res.text);
      return String(fake.requests[0]!.body.messages[0].content);
    } finally {
      await keel.close();
    }
  }

  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-hash-"));
    dirs.push(dir);
    return dir;
  };

  test("with the data dir's key file: stable tags across restarts, different per key", async () => {
    const dir = newDir();
    const first = await sentUpstream(dir);
    assert.match(first, /^Write to \[EMAIL:[0-9a-f]{6}\] today$/);
    assert.ok(!first.includes(EMAIL));
    assert.equal(await sentUpstream(dir), first, "same key file, same tag");
    assert.notEqual(await sentUpstream(newDir()), first, "another key file, another tag");
  });

  test("with KEEL_MASTER_KEY: the tag follows the key, not the data dir", async () => {
    const env = { KEEL_MASTER_KEY: randomBytes(32).toString("base64") };
    const a = await sentUpstream(newDir(), env);
    assert.match(a, /^Write to \[EMAIL:[0-9a-f]{6}\] today$/);
    assert.equal(await sentUpstream(newDir(), env), a);
  });
});
