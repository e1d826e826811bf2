import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Command, CommanderError } from "commander";
import { KeelError } from "../src/core/errors.ts";
import { registerKeyCommands } from "../src/cli/keys.ts";
import { registerProjectCommands } from "../src/cli/projects.ts";
import { createAuthApp, type AuthApp } from "./fixtures/auth-app.ts";

/** `keel projects …` and `keel keys …` against a real server listening on 127.0.0.1. */
describe("keel projects and keel keys", () => {
  let t: AuthApp;
  let url = "";
  before(async () => {
    t = await createAuthApp();
    url = await t.app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async () => t.close());

  /** `apiKey` null: KEEL_API_KEY unset. */
  async function keel(args: string[], apiKey: string | null = t.ownerKey) {
    const out = { stdout: "", stderr: "" };
    const io = {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
      env: { KEEL_URL: url, ...(apiKey === null ? {} : { KEEL_API_KEY: apiKey }) },
    };
    const program = new Command("keel")
      .exitOverride()
      .configureOutput({ writeOut: io.stdout.write, writeErr: io.stderr.write });
    registerProjectCommands(program, io);
    registerKeyCommands(program, io);
    let error: unknown;
    try {
      await program.parseAsync(args, { from: "user" });
    } catch (err) {
      error = err;
    }
    return { ...out, error };
  }

  test("projects create prints the new project; ls lists it", async () => {
    const created = await keel(["projects", "create", "gamma"]);
    assert.equal(created.error, undefined);
    assert.match(created.stdout, /^prj_[0-9A-Z]{26} {2}gamma\n$/);
    const listed = await keel(["projects", "ls", "--json"]);
    const names = (JSON.parse(listed.stdout) as { data: { name: string }[] }).data.map(
      (p) => p.name,
    );
    assert.ok(names.includes("gamma"));
  });

  test("keys create prints the key alone on stdout, once; ls shows only its prefix", async () => {
    const created = await keel([
      "keys",
      "create",
      "--name",
      "ci",
      "--role",
      "service",
      "--project",
      t.projects.a.id,
      "--model",
      "small",
      "--expires",
      "30d",
    ]);
    assert.equal(created.error, undefined);
    const key = created.stdout.trim();
    assert.match(key, /^sk-keel-[0-9A-Za-z]{43}$/);
    assert.match(created.stderr, /only time the key is shown/);
    const models = await t.call(key, "GET", "/v1/models");
    assert.deepEqual(models.json(), { data: [{ id: "small" }] });

    const listed = await keel(["keys", "ls", "--project", t.projects.a.id]);
    assert.ok(listed.stdout.includes(`${key.slice(0, 12)}…`));
    assert.ok(!listed.stdout.includes(key.slice(12)));
    assert.match(listed.stdout, /^ID +PREFIX +NAME +ROLE/);
  });

  test("keys rotate prints a new key and the old one stops working", async () => {
    const created = await keel(["keys", "create", "--name", "r", "--role", "viewer", "--json"]);
    const old = JSON.parse(created.stdout) as { id: string; key: string };
    const rotated = await keel(["keys", "rotate", old.id]);
    assert.equal(rotated.error, undefined);
    const next = rotated.stdout.trim();
    assert.notEqual(next, old.key);
    assert.match(rotated.stderr, new RegExp(`replaces ${old.id}`));
    assert.equal((await t.call(old.key, "GET", "/api/projects")).statusCode, 401);
    assert.equal((await t.call(next, "GET", "/api/projects")).statusCode, 200);
  });

  test("keys rotate --grace keeps the old key working for that long", async () => {
    const created = await keel(["keys", "create", "--name", "g", "--role", "viewer", "--json"]);
    const old = JSON.parse(created.stdout) as { id: string; key: string };
    const rotated = await keel(["keys", "rotate", old.id, "--grace", "15m"]);
    assert.equal(rotated.error, undefined);
    assert.equal((await t.call(old.key, "GET", "/api/projects")).statusCode, 200);
  });

  test("keys revoke ends a key at once", async () => {
    const created = await keel(["keys", "create", "--name", "v", "--role", "viewer", "--json"]);
    const victim = JSON.parse(created.stdout) as { id: string; key: string };
    // Used first, so the key sits in the server's key cache (on by default) when revoked.
    assert.equal((await t.call(victim.key, "GET", "/api/projects")).statusCode, 200);
    const revoked = await keel(["keys", "revoke", victim.id]);
    assert.equal(revoked.error, undefined);
    assert.match(revoked.stderr, new RegExp(`revoked ${victim.id}`));
    assert.equal((await t.call(victim.key, "GET", "/api/projects")).statusCode, 401);
  });

  test("without KEEL_API_KEY the command says which variable to set", async () => {
    const r = await keel(["keys", "ls"], null);
    assert.ok(r.error instanceof KeelError);
    assert.match(r.error.message, /KEEL_API_KEY/);
  });

  test("the server's refusal comes back with its code and reason", async () => {
    const r = await keel(["projects", "create", "delta"], t.keys.a.admin.key);
    assert.ok(r.error instanceof KeelError);
    assert.equal(r.error.code, "forbidden");
    assert.match(r.error.message, /projects:write/);
  });

  test("an unreachable server is named with the fix", async () => {
    const r = await keel(["projects", "ls", "--url", "http://127.0.0.1:9"]);
    assert.ok(r.error instanceof KeelError);
    assert.equal(r.error.code, "server_unreachable");
    assert.match(r.error.message, /KEEL_URL/);
  });

  test("an unknown role is a usage error listing the roles", async () => {
    const r = await keel(["keys", "create", "--name", "x", "--role", "root"]);
    assert.ok(r.error instanceof CommanderError);
    assert.match(r.stderr, /owner, admin, developer, viewer, service/);
  });
});
