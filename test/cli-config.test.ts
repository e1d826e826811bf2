import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../bin/keel.js", import.meta.url));

function keel(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", ...env },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-cli-"));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("keel CLI basics", () => {
  test("config check accepts a valid file", () => {
    const path = file(
      "keel.config.yaml",
      [
        "providers:",
        "  vllm: { type: openai-compatible, base_url: 'http://127.0.0.1:8000/v1' }",
        "models:",
        "  - name: support-bot",
        "    strategy: lowest-latency",
        "    deployments:",
        "      - { provider: vllm, model: llama, weight: 1, priority: 0, timeout_ms: 30000 }",
      ].join("\n"),
    );
    const r = keel(["config", "check", path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok — 1 providers, models: support-bot \(1\)/);
  });

  test("config check names the bad field and exits 1", () => {
    const path = file("bad.yaml", "models:\n  - name: m\n    deployments: []\n");
    const r = keel(["config", "check", path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^keel: .*models\.0\.deployments/m);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line, no stack trace");
  });

  test("serve refuses to start on an invalid config", () => {
    const path = file("bad.yaml", "server:\n  port: 'eighty'\n");
    const r = keel(["serve", "--config", path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /server\.port/);
  });

  test("an unknown command is a usage error with exit code 2", () => {
    const r = keel(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command/);
  });

  test("--help exits 0", () => {
    const r = keel(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /serve/);
  });
});
