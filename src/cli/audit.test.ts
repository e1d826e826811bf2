import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { createAuditApp } from "../../test/fixtures/audit-app.ts";
import { openSqliteTestDatabase, type TestDatabase } from "../../test/helpers/engines.ts";
import { createAuditService } from "../audit/index.ts";
import { KeelError } from "../core/errors.ts";
import { registerAuditCommands } from "./audit.ts";

/** Runs `keel audit …` against the test server; resolves with what it printed. */
async function keel(url: string, ...args: string[]): Promise<string> {
  const { printed, error } = await run(url, ...args);
  if (error !== undefined) throw error;
  return printed;
}

/** Like `keel`, keeping both the output and the error a failing command throws. */
async function run(url: string, ...args: string[]): Promise<{ printed: string; error?: Error }> {
  let printed = "";
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      printed += chunk.toString();
      done();
    },
  });
  const program = new Command("keel").exitOverride();
  registerAuditCommands(program, { out, env: { KEEL_URL: url } });
  try {
    await program.parseAsync(args, { from: "user" });
    return { printed };
  } catch (error) {
    return { printed, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

describe("keel audit", () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), "keel-audit-cli-"));

  before(async () => {
    database = await openSqliteTestDatabase();
    app = await createAuditApp(database.db);
    url = await app.listen({ host: "127.0.0.1", port: 0 });
    const audit = createAuditService(database.db);
    for (let i = 0; i < 3; i++) {
      await audit.append({
        action: i === 0 ? "keys.create" : "model.invoke",
        outcome: "success",
        status_code: 200,
        actor_key_id: "key_ci",
        ip: "10.0.0.7",
        resource_type: "model",
        resource_id: `keel-local`,
      });
    }
  });
  after(async () => {
    await app?.close();
    await database?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test("verify says the chain is intact", async () => {
    const printed = await keel(url, "audit", "verify");
    assert.match(printed, /audit log ok: 3 entries/);
  });

  test("ls prints a table newest first, and JSON with --json", async () => {
    const table = await keel(url, "audit", "ls");
    const lines = table.trimEnd().split("\n");
    assert.match(lines[0]!, /^SEQ\s+TIME \(UTC\)\s+ACTION\s+OUTCOME\s+ACTOR\s+RESOURCE\s+FROM$/);
    assert.match(
      lines[1]!,
      /^3\s.*model\.invoke\s+success 200\s+key_ci\s+model keel-local\s+10\.0\.0\.7$/,
    );
    const page = JSON.parse(
      await keel(url, "audit", "ls", "--json", "--action", "keys.create"),
    ) as {
      data: { seq: number }[];
    };
    assert.deepEqual(
      page.data.map((e) => e.seq),
      [1],
    );
    const paged = await keel(url, "audit", "ls", "--limit", "2");
    assert.match(paged, /more: keel audit ls --cursor 2/);
  });

  test("export writes JSON lines to a file", async () => {
    const file = join(dir, "audit.jsonl");
    await keel(url, "audit", "export", "--format", "jsonl", "--output", file);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { seq: number }).seq),
      [1, 2, 3],
    );
    const printed = await keel(url, "audit", "export");
    assert.equal(printed.trimEnd().split("\n").length, 3);
  });

  test("a server-side validation error comes back with its message", async () => {
    await assert.rejects(
      keel(url, "audit", "ls", "--since", "last tuesday"),
      (err: KeelError) => err.code === "invalid_request" && /since/.test(err.message),
    );
  });

  test("verify fails and names the entry after tampering", async () => {
    await sql`update audit_log set actor_key_id = 'key_other' where seq = 2`.execute(database.db);
    const { printed, error } = await run(url, "audit", "verify");
    assert.match(printed, /audit log BROKEN: 3 entries walked/);
    assert.match(printed, /first bad entry: seq 2 \(aud_\w+\), hash_mismatch/);
    assert.ok(error instanceof KeelError, "the command fails (exit code 1)");
    assert.match(error.message, /entry 2 \(aud_\w+\) was altered/);
  });

  test("an unreachable server is named with the fix", async () => {
    await assert.rejects(
      keel("http://127.0.0.1:9", "audit", "verify"),
      (err: KeelError) => err.code === "server_unreachable" && /127\.0\.0\.1:9/.test(err.message),
    );
  });
});
