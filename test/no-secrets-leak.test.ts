import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { generateKey } from "../src/auth/index.ts";
import { createLogger } from "../src/core/logger.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel } from "./helpers/keel.ts";

/**
 * "No secret anywhere": after a run that used a provider key, the admin key and a created
 * key, for successes and failures (an upstream 401 that echoes the key back, the way real
 * providers quote it), none of them appears in a log line, in any row of any table, or in the
 * SQLite files on disk, with trace encryption on and off. Key hashes are fine.
 */

const PROVIDER_SECRET = "sk-upstream-Zq9cWv3LrT5yN8pXb2Hk7MdA4sJe6Uf1";
const BODY_LIMIT = 64 * 1024;

interface Run {
  secrets: Record<string, string>;
  logs: string[];
  /** Every row of every table, as JSON lines. */
  rows: string[];
  /** The raw bytes of every file in the data dir. */
  files: { name: string; bytes: Buffer }[];
  /** What the security-header and limit checks saw. */
  headers: Record<string, string | string[] | undefined>;
  oversizedHeaders: number;
  oversizedBody: { status: number; code: string | undefined };
  healthyAfterwards: number;
}

async function runKeel(fake: FakeOpenAI, encrypt: boolean): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-leak-"));
  const logs: string[] = [];
  const logger = createLogger("trace", { write: (line: string) => void logs.push(line) });
  const adminKey = generateKey();
  const keel = await startKeel(
    {
      server: { body_limit_bytes: BODY_LIMIT },
      traces: { encrypt, flush_interval_ms: 20 },
      providers: {
        up: { type: "openai-compatible", base_url: fake.url, api_key_env: "LEAK_TEST_KEY" },
      },
      models: [
        {
          name: "chat",
          retry: { max_attempts: 1, base_delay_ms: 1, max_delay_ms: 1 },
          deployments: [{ provider: "up", model: "m" }],
        },
      ],
    },
    { env: { KEEL_ADMIN_KEY: adminKey, LEAK_TEST_KEY: PROVIDER_SECRET }, dataDir, logger },
  );
  const run: Partial<Run> = {};
  try {
    const api = async (key: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${keel.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, headers: res.headers, text: await res.text() };
    };
    const created = await api(adminKey, "POST", "/api/keys", { name: "app", role: "developer" });
    assert.equal(created.status, 201, created.text);
    const createdKey = (JSON.parse(created.text) as { key: string }).key;

    const chat = { model: "chat", messages: [{ role: "user", content: "hi" }] };
    assert.equal((await api(createdKey, "POST", "/v1/chat/completions", chat)).status, 200);
    fake.queueFaults({
      kind: "status",
      status: 401,
      body: {
        error: {
          message: `Incorrect API key provided: ${PROVIDER_SECRET}`,
          type: "invalid_request_error",
          code: "invalid_api_key",
        },
      },
    });
    const refused = await api(createdKey, "POST", "/v1/chat/completions", chat);
    assert.ok(refused.status >= 400, refused.text);
    assert.doesNotMatch(refused.text, new RegExp(PROVIDER_SECRET));
    const stream = await api(createdKey, "POST", "/v1/chat/completions", { ...chat, stream: true });
    assert.equal(stream.status, 200);
    // A wrong key, a role without the permission, and management calls with both keys.
    assert.equal((await api(`${createdKey}x`, "GET", "/api/traces")).status, 401);
    assert.equal((await api(createdKey, "GET", "/api/audit")).status, 403);
    const traces = await api(adminKey, "GET", "/api/traces");
    run.headers = Object.fromEntries(traces.headers);
    const ids = (JSON.parse(traces.text) as { data: { id: string }[] }).data.map((t) => t.id);
    for (const id of ids) {
      assert.equal((await api(adminKey, "GET", `/api/traces/${id}`)).status, 200);
    }
    assert.equal((await api(adminKey, "GET", "/api/audit/export")).status, 200);

    run.oversizedHeaders = await oversizedHeaderStatus(keel.url);
    const big = { ...chat, messages: [{ role: "user", content: "x".repeat(BODY_LIMIT * 2) }] };
    const tooBig = await api(createdKey, "POST", "/v1/chat/completions", big);
    run.oversizedBody = {
      status: tooBig.status,
      code: (JSON.parse(tooBig.text) as { error?: { code?: string } }).error?.code,
    };
    run.healthyAfterwards = (await fetch(`${keel.url}/healthz`)).status;
    await keel.keel.traces.flush();
    run.secrets = { provider: PROVIDER_SECRET, admin: adminKey, created: createdKey };
  } finally {
    await keel.close();
  }
  run.logs = logs;
  run.rows = dumpTables(join(dataDir, "keel.db"));
  run.files = readdirSync(dataDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => ({
      name: entry.name,
      bytes: readFileSync(join(entry.parentPath, entry.name)),
    }));
  rmSync(dataDir, { recursive: true, force: true });
  return run as Run;
}

/** Sends a request whose headers are over Node's 16 KiB limit; resolves with the status. */
function oversizedHeaderStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/healthz`, { headers: { "x-padding": "p".repeat(32_000) } });
    req.setTimeout(5_000, () => req.destroy(new Error("no answer to oversized headers")));
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

function dumpTables(file: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = db
      .prepare("select name from sqlite_master where type = 'table'")
      .all()
      .map((row) => String(row.name));
    assert.ok(tables.includes("traces") && tables.includes("api_keys"));
    return tables.flatMap((table) =>
      db
        .prepare(`select * from "${table}"`)
        .all()
        .map((row) => `${table}: ${JSON.stringify(row)}`),
    );
  } finally {
    db.close();
  }
}

for (const encrypt of [false, true]) {
  describe(`no secret anywhere (traces.encrypt: ${encrypt})`, () => {
    let fake: FakeOpenAI;
    let run: Run;
    before(async () => {
      fake = await startFakeOpenAI({ name: "leaky" });
      run = await runKeel(fake, encrypt);
    });
    after(async () => fake.close());

    test("the provider key was really sent upstream (the run used it)", () => {
      const auth = fake.requests.map((r) => r.headers.authorization);
      assert.ok(auth.includes(`Bearer ${PROVIDER_SECRET}`));
    });

    test("no log line holds the provider key, the admin key or a created key", () => {
      assert.ok(run.logs.length > 10, "logs were captured");
      for (const [name, secret] of Object.entries(run.secrets)) {
        const hits = run.logs.filter((line) => line.includes(secret));
        assert.deepEqual(hits, [], `${name} key in the logs`);
      }
    });

    test("no row of any table holds them (traces, audit log, keys…)", () => {
      assert.ok(run.rows.some((row) => row.startsWith("traces:")));
      assert.ok(run.rows.some((row) => row.startsWith("audit_log:")));
      for (const [name, secret] of Object.entries(run.secrets)) {
        const hits = run.rows.filter((row) => row.includes(secret));
        assert.deepEqual(hits, [], `${name} key in the database`);
      }
    });

    test("no file in the data dir holds them, byte for byte", () => {
      assert.ok(run.files.some((f) => f.name === "keel.db"));
      for (const [name, secret] of Object.entries(run.secrets)) {
        const hits = run.files.filter((f) => f.bytes.includes(secret)).map((f) => f.name);
        assert.deepEqual(hits, [], `${name} key on disk`);
      }
    });

    test("trace bodies are stored as ciphertexts exactly when encryption is on", () => {
      const traces = run.rows.filter((row) => row.startsWith("traces:"));
      const bodies = traces.map(
        (row) =>
          (JSON.parse(row.slice("traces: ".length)) as { request_body: string }).request_body,
      );
      assert.ok(bodies.length > 0);
      for (const body of bodies) assert.equal(body.startsWith("v1:"), encrypt, body);
    });

    test("responses carry the security headers", () => {
      assert.equal(run.headers["x-content-type-options"], "nosniff");
      assert.equal(run.headers["x-frame-options"], "DENY");
      assert.equal(run.headers["referrer-policy"], "no-referrer");
      assert.equal(run.headers["cache-control"], "no-store");
    });

    test("oversized headers get 431 and oversized bodies 413, and Keel keeps serving", () => {
      assert.equal(run.oversizedHeaders, 431);
      assert.equal(run.oversizedBody.status, 413);
      assert.equal(run.oversizedBody.code, "body_too_large");
      assert.equal(run.healthyAfterwards, 200);
    });
  });
}
