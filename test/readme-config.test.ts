import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { parseConfig } from "../src/core/config.ts";

test("the README's example config file is a valid configuration", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.split("### The config file")[1] ?? "";
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, "the README has a yaml example under 'The config file'");
  const config = parseConfig(parse(yaml), {
    env: { VLLM_API_KEY: "k1", ANTHROPIC_API_KEY: "k2" },
    source: "README.md",
    overrides: {},
  });
  assert.deepEqual(
    config.models.map((m) => m.name),
    ["support-bot"],
  );
  assert.equal(config.models[0]?.guardrails.pii.input.entities.credit_card, "block");
});
