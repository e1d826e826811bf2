import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { loadConfig, parseConfig } from "./config.ts";
import { KeelError } from "./errors.ts";

const ctx = { env: {}, source: "keel.config.yaml", overrides: {} };

function configError(fn: () => unknown): KeelError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeelError, `expected KeelError, got ${String(err)}`);
    assert.equal(err.code, "config_invalid");
    return err;
  }
  assert.fail("expected the config to be rejected");
}

describe("config", () => {
  test("an empty config serves the local models on embedded defaults", () => {
    const config = parseConfig({}, ctx);
    assert.equal(config.server.port, 4141);
    assert.equal(config.server.host, "127.0.0.1");
    assert.deepEqual(
      config.models.map((m) => [m.name, m.kind]),
      [
        ["keel-local", "chat"],
        ["keel-local-embed", "embedding"],
      ],
    );
    assert.equal(config.providers.local?.type, "local");
    assert.ok(Object.isFrozen(config.server));
  });

  test("KEEL_LOCAL_MODEL and KEEL_LOCAL_EMBED_MODEL choose the files served", () => {
    const config = parseConfig(
      {},
      { ...ctx, env: { KEEL_LOCAL_MODEL: "/m/chat.gguf", KEEL_LOCAL_EMBED_MODEL: "/m/e.gguf" } },
    );
    const local = config.providers.local;
    assert.equal(local?.type === "local" ? local.model_path : undefined, "/m/chat.gguf");
    const embed = config.providers["local-embed"];
    assert.equal(embed?.type === "local" ? embed.model_path : undefined, "/m/e.gguf");
    assert.equal(config.models[1]?.deployments[0]?.provider, "local-embed");
  });

  test("environment variables override the file and flags override both", () => {
    const config = parseConfig(
      { server: { port: 9000, host: "0.0.0.0" } },
      { ...ctx, env: { KEEL_PORT: "9100", KEEL_DATA_DIR: "/var/keel" }, overrides: { port: 9200 } },
    );
    assert.equal(config.server.port, 9200);
    assert.equal(config.server.host, "0.0.0.0");
    assert.equal(config.server.data_dir, "/var/keel");
  });

  test("a wrong type names the field path", () => {
    const err = configError(() =>
      parseConfig(
        {
          providers: { up: { type: "openai-compatible", base_url: "http://127.0.0.1:1/v1" } },
          models: [{ name: "m", deployments: [{ provider: "up", model: "x", weight: "heavy" }] }],
        },
        ctx,
      ),
    );
    assert.match(err.message, /keel\.config\.yaml: models\.0\.deployments\.0\.weight/);
  });

  test("the key cache settings default to a minute and a second, and are bounded", () => {
    const { auth } = parseConfig({}, ctx);
    assert.equal(auth.key_cache_ms, 60_000);
    assert.equal(auth.revocation_check_ms, 1_000);
    assert.match(
      configError(() => parseConfig({ auth: { key_cache_ms: 3_600_001 } }, ctx)).message,
      /auth\.key_cache_ms/,
    );
    assert.match(
      configError(() => parseConfig({ auth: { revocation_check_ms: -1 } }, ctx)).message,
      /auth\.revocation_check_ms/,
    );
  });

  test("unknown keys are refused, not ignored", () => {
    const err = configError(() => parseConfig({ server: { prot: 80 } }, ctx));
    assert.match(err.message, /server/);
    assert.match(err.message, /prot/);
  });

  test("a deployment naming an unknown provider is refused", () => {
    const err = configError(() =>
      parseConfig(
        { models: [{ name: "m", deployments: [{ provider: "nope", model: "x" }] }] },
        ctx,
      ),
    );
    assert.match(err.message, /models\.0\.deployments\.0\.provider: unknown provider "nope"/);
  });

  test("duplicate model names are refused", () => {
    const provider = { up: { type: "openai-compatible", base_url: "http://127.0.0.1:1/v1" } };
    const model = { name: "m", deployments: [{ provider: "up", model: "x" }] };
    const err = configError(() =>
      parseConfig({ providers: provider, models: [model, model] }, ctx),
    );
    assert.match(err.message, /models\.1\.name: duplicate model name "m"/);
  });

  test("a non-integer KEEL_PORT is refused", () => {
    const err = configError(() => parseConfig({}, { ...ctx, env: { KEEL_PORT: "eighty" } }));
    assert.match(err.message, /KEEL_PORT/);
  });

  test("provider keys are read from the named variable and never print", () => {
    const config = parseConfig(
      {
        providers: {
          up: {
            type: "openai-compatible",
            base_url: "http://127.0.0.1:1/v1",
            api_key_env: "UP_KEY",
          },
        },
        models: [{ name: "m", deployments: [{ provider: "up", model: "x" }] }],
      },
      { ...ctx, env: { UP_KEY: "sk-live-very-secret" } },
    );
    assert.equal(config.providerKeys.up?.reveal(), "sk-live-very-secret");
    assert.doesNotMatch(JSON.stringify(config), /very-secret/);
    assert.doesNotMatch(inspect(config, { depth: 10 }), /very-secret/);
    assert.doesNotMatch(`${String(config.providerKeys.up)}`, /very-secret/);
  });

  test("loadConfig reads YAML and reports syntax errors with the line", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-config-"));
    const good = join(dir, "good.yaml");
    writeFileSync(good, "server:\n  port: 5000\n");
    assert.equal(loadConfig({ path: good, env: {} }).server.port, 5000);

    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "server:\n  port: [1,\n");
    assert.match(configError(() => loadConfig({ path: bad, env: {} })).message, /not valid YAML/);

    const missing = join(dir, "missing.yaml");
    assert.match(
      configError(() => loadConfig({ path: missing, env: {} })).message,
      /cannot read config file/,
    );
  });

  test("KEEL_CONFIG names the file when --config is absent", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-config-"));
    const file = join(dir, "keel.config.yaml");
    writeFileSync(file, "server:\n  port: 5001\n");
    assert.equal(loadConfig({ env: { KEEL_CONFIG: file } }).server.port, 5001);
  });
});
