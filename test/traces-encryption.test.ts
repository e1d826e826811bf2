import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKeyring } from "../src/core/master-key-file.ts";
import { openTraceBodies, toStoredRow } from "../src/traces/body-encryption.ts";
import { traceRecord } from "./fixtures/trace-records.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/**
 * `traces.encrypt: true`: bodies are AES-256-GCM ciphertexts at rest, bound to their trace,
 * and the API shows them decrypted. A table where encryption was switched on later reads
 * both kinds of rows.
 */

function config(fake: FakeOpenAI, encrypt: boolean): Record<string, unknown> {
  return {
    traces: { encrypt, flush_interval_ms: 20 },
    providers: { up: { type: "openai-compatible", base_url: fake.url } },
    models: [{ name: "chat", deployments: [{ provider: "up", model: "m" }] }],
  };
}

async function chat(keel: RunningKeel, content: string): Promise<void> {
  const res = await fetch(`${keel.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...keel.headers, "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content }] }),
  });
  assert.equal(res.status, 200, await res.text());
  await keel.keel.traces.flush();
}

async function storedBodies(keel: RunningKeel) {
  return keel.keel.database.db
    .selectFrom("traces")
    .select(["id", "request_body", "response_body"])
    .orderBy("id")
    .execute();
}

async function apiRequestContent(keel: RunningKeel, id: string): Promise<string> {
  const res = await fetch(`${keel.url}/api/traces/${id}`, { headers: keel.headers });
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    request_body: { messages: { content: string }[] };
    response_body: { choices: unknown[] };
  };
  assert.ok(body.response_body.choices.length > 0);
  return body.request_body.messages[0]!.content;
}

describe("trace body encryption at rest", () => {
  let fake: FakeOpenAI;
  let dataDir: string;
  before(async () => {
    fake = await startFakeOpenAI();
    dataDir = mkdtempSync(join(tmpdir(), "keel-enc-"));
  });
  after(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("with encrypt off, then on, the table holds both kinds and the API reads both", async () => {
    const plain = await startKeel(config(fake, false), { dataDir });
    await chat(plain, "written in the clear");
    await plain.close();

    // Same data dir, same key file, same admin key (already stored) — now encrypting.
    const sealed = await startKeel(config(fake, true), {
      dataDir,
      env: { KEEL_ADMIN_KEY: plain.apiKey },
    });
    try {
      await chat(sealed, "a secret prompt");
      const [first, second] = await storedBodies(sealed);
      assert.ok(first && second);
      assert.match(first.request_body!, /written in the clear/);
      assert.match(second.request_body!, /^v1:[0-9a-f]{16}:/);
      assert.match(second.response_body!, /^v1:[0-9a-f]{16}:/);
      assert.doesNotMatch(second.request_body!, /secret prompt/);

      assert.equal(await apiRequestContent(sealed, first.id), "written in the clear");
      assert.equal(await apiRequestContent(sealed, second.id), "a secret prompt");
    } finally {
      await sealed.close();
    }
    const mode = statSync(join(dataDir, "master.key")).mode & 0o777;
    assert.equal(mode, 0o600, "the generated key file is private to its owner");
  });

  test("a sealed body copied into another trace does not decrypt there", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-enc-unit-"));
    try {
      const keyring = loadKeyring({ dataDir: dir });
      const settings = { bodies: "full", encrypt: true } as const;
      const one = toStoredRow(traceRecord(Date.now()), settings, keyring);
      const two = toStoredRow(traceRecord(Date.now() + 1), settings, keyring);
      assert.ok(openTraceBodies(one, keyring).request_body?.includes("hello"));
      const swapped = { ...two, request_body: one.request_body };
      assert.throws(() => openTraceBodies(swapped, keyring), /does not authenticate/);
      const moved = { ...one, response_body: one.request_body };
      assert.throws(() => openTraceBodies(moved, keyring), /does not authenticate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("encrypt on without a keyring refuses to write instead of storing plain text", () => {
    const record = traceRecord(Date.now());
    assert.throws(
      () => toStoredRow(record, { bodies: "full", encrypt: true }, undefined),
      /traces\.encrypt is on/,
    );
    const plain = toStoredRow(record, { bodies: "full", encrypt: false }, undefined);
    assert.match(plain.request_body!, /^\{/);
  });
});
