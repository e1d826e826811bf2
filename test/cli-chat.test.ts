import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "../src/client/index.ts";
import { Secret } from "../src/core/secret.ts";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { runKeel } from "./helpers/keel-cli.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

describe("keel chat", () => {
  let upstream: FakeOpenAI;
  let server: RunningKeel;
  /** `keel …` with this server's admin key in KEEL_API_KEY. */
  const keel = (args: readonly string[], env: Record<string, string> = {}) =>
    runKeel(args, { KEEL_API_KEY: server.apiKey, ...env });

  before(async () => {
    upstream = await startFakeOpenAI({ name: "fake" });
    server = await startKeel({
      providers: { up: { type: "openai-compatible", base_url: upstream.url } },
      models: [{ name: "support-bot", deployments: [{ provider: "up", model: "llama" }] }],
    });
  });
  after(async () => {
    await server.close();
    await upstream.close();
  });

  test("streams the answer to stdout through the running server", async () => {
    upstream.configure({ reply: "Hello there, friend" });
    const r = await keel([
      "chat",
      "support-bot",
      "say hello",
      "--system",
      "be brief",
      "--max-tokens",
      "20",
      "--temperature",
      "0.5",
      "--url",
      server.url,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Hello there, friend\n");
    assert.equal(r.stderr, "");

    const sent = upstream.requests.at(-1)?.body;
    assert.equal(sent?.stream, true);
    assert.equal(sent?.max_tokens, 20);
    assert.equal(sent?.temperature, 0.5);
    const messages = sent?.messages as { role: string; content: string }[];
    assert.deepEqual(
      messages.map((m) => [m.role, m.content]),
      [
        ["system", "be brief"],
        ["user", "say hello"],
      ],
    );

    await server.keel.traces.flush();
    const page = await createClient({
      baseUrl: server.url,
      apiKey: new Secret(server.apiKey),
    }).listTraces({ limit: 1 });
    assert.equal(page.data[0]?.model, "support-bot");
    assert.equal(page.data[0]?.stream, true);
  });

  test("an unknown model fails with the server's message and exit 1", async () => {
    const r = await keel(["chat", "no-such-model", "hi", "--url", server.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^keel: .*no-such-model/);
    assert.equal(r.stderr.split("\n").length, 2, "one line");
  });

  test("a temperature out of range is a usage error", async () => {
    const r = await keel(["chat", "support-bot", "hi", "--temperature", "3", "--url", server.url]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /0 to 2/);
  });
});
