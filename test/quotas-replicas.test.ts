import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { dropPostgresSchema } from "./helpers/engines.ts";
import { generateKey } from "../src/auth/index.ts";
import { openDatabase, type KeelDatabase } from "../src/core/db/database.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { createKey, createProject, post } from "./helpers/tenants.ts";

/**
 * Limits that hold across Keel replicas: two `keel serve` processes share one PostgreSQL
 * database (for the keys) and one Redis (for the quota counters), as replicas behind a load
 * balancer do. A key limited to 100 requests per minute is hammered through both at once; the
 * two together admit within 5% of the limit.
 */

const postgresUrl = process.env.KEEL_TEST_DATABASE_URL;
const redisUrl = process.env.KEEL_TEST_REDIS_URL;
const skip =
  postgresUrl === undefined || redisUrl === undefined
    ? "KEEL_TEST_DATABASE_URL and KEEL_TEST_REDIS_URL must both be set: two-replica quota test skipped"
    : false;

const KEEL_BIN = fileURLToPath(new URL("../bin/keel.js", import.meta.url));
const START_TIMEOUT_MS = 30_000;

interface Replica {
  url: string;
  child: ChildProcess;
}

/** Starts `keel serve` on a free port; resolves with its address once it listens. */
function startReplica(
  configPath: string,
  dataDir: string,
  env: NodeJS.ProcessEnv,
): Promise<Replica> {
  const child = spawn(
    process.execPath,
    [KEEL_BIN, "serve", "--port", "0", "--data-dir", dataDir, "--config", configPath],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`keel serve did not start within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const match = / on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stderr);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ url: match[1]!, child });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`keel serve exited with ${String(code)}: ${stderr}`));
    });
  });
}

async function stopReplica(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => replica.child.once("exit", () => resolve()));
  replica.child.kill("SIGTERM");
  const timer = setTimeout(() => replica.child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

describe("quotas across two Keel processes sharing PostgreSQL and Redis", { skip }, () => {
  const schema = `keel_test_${randomBytes(6).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "keel-replicas-"));
  const adminKey = generateKey();
  let fake: FakeOpenAI;
  let database: KeelDatabase;
  const replicas: Replica[] = [];

  before(async () => {
    fake = await startFakeOpenAI({ name: "up" });
    // Migrate the fresh schema once, here; the replicas find it up to date.
    database = await openDatabase({ url: postgresUrl!, dataDir: dir, schema });
    const configPath = join(dir, "keel.config.yaml");
    writeFileSync(
      configPath,
      JSON.stringify({
        server: { log_level: "warn" },
        providers: { up: { type: "openai-compatible", base_url: fake.url } },
        models: [{ name: "chat", deployments: [{ provider: "up", model: "upstream" }] }],
      }),
    );
    const url = new URL(postgresUrl!);
    url.searchParams.set("options", `-c search_path=${schema}`);
    const env = {
      ...process.env,
      KEEL_DATABASE_URL: url.toString(),
      KEEL_REDIS_URL: redisUrl!,
      KEEL_ADMIN_KEY: adminKey,
    };
    for (const name of ["a", "b"]) {
      const dataDir = join(dir, name);
      replicas.push(await startReplica(configPath, dataDir, env));
    }
  });

  after(async () => {
    await Promise.all(replicas.map(stopReplica));
    await fake?.close();
    await database?.close();
    await dropPostgresSchema(postgresUrl!, schema);
    rmSync(dir, { recursive: true, force: true });
  });

  test("300 concurrent calls split over both replicas admit 100/min within 5%", async () => {
    const [a, b] = replicas as [Replica, Replica];
    const api = { url: a.url, headers: { authorization: `Bearer ${adminKey}` } };
    const project = await createProject(api, "replicated");
    const { key } = await createKey(api, {
      project_id: project,
      limits: { requests_per_minute: 100 },
    });
    const body = { model: "chat", messages: [{ role: "user", content: "hi" }] };
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        post(`${(i % 2 === 0 ? a : b).url}/v1/chat/completions`, key, body).then((res) => ({
          replica: i % 2,
          status: res.status,
        })),
      ),
    );
    const allowed = answers.filter((x) => x.status === 200);
    const refused = answers.filter((x) => x.status === 429);
    assert.equal(allowed.length + refused.length, 300);
    assert.ok(allowed.length >= 95 && allowed.length <= 105, `allowed ${allowed.length} of 100`);
    for (const replica of [0, 1]) {
      assert.ok(
        allowed.some((x) => x.replica === replica),
        `replica ${replica} admitted some calls`,
      );
    }
    assert.equal(fake.requests.length, allowed.length);
  });
});
