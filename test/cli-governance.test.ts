import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { runKeel } from "./helpers/keel-cli.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

/** `keel keys` and `keel audit` through the `keel` command, as a user runs them. */
describe("keel keys and keel audit through bin/keel.js", () => {
  let server: RunningKeel;
  /** `keel …` against this server, found through KEEL_URL, with its owner key. */
  const keel = (args: readonly string[], env: Record<string, string> = {}) =>
    runKeel(args, { KEEL_URL: server.url, KEEL_API_KEY: server.apiKey, ...env });

  before(async () => {
    server = await startKeel();
  });
  after(async () => server.close());

  test("keys create prints a key that keys ls then lists by its prefix", async () => {
    const created = await keel(["keys", "create", "--name", "ci", "--role", "viewer"]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^sk-keel-/);

    const listed = await keel(["keys", "ls"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^ID +PREFIX +NAME +ROLE/);
    assert.match(listed.stdout, new RegExp(`${key.slice(0, 12)}… +ci +viewer`));
    assert.ok(!listed.stdout.includes(key.slice(12)), "only the prefix is shown");
  });

  test("audit verify reports an intact chain and exits 0", async () => {
    const r = await keel(["audit", "verify"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^audit log ok: \d+ entries, chain intact$/m);
  });

  test("without KEEL_API_KEY keys ls fails in one line naming the variable", async () => {
    const r = await runKeel(["keys", "ls"], { KEEL_URL: server.url });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "keel: no API key: set KEEL_API_KEY to a key (sk-keel-…)\n");
  });

  test("every client command's help names --url, KEEL_URL, the default and KEEL_API_KEY", async () => {
    for (const command of [
      ["keys", "ls"],
      ["audit", "verify"],
    ]) {
      const r = await runKeel([...command, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      const help = r.stdout.replace(/\s+/g, " ");
      assert.match(help, /--url <url>/);
      assert.match(help, /KEEL_URL, else http:\/\/127\.0\.0\.1:4141/);
      assert.match(help, /KEEL_API_KEY/);
    }
  });

  test("a --url that is not http(s) is a usage error", async () => {
    const r = await keel(["audit", "ls", "--url", "ftp://127.0.0.1:1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected an http:\/\/ or https:\/\/ URL/);
  });
});
