import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";
import { createKey, createProject, post, traceRow } from "./helpers/tenants.ts";

/**
 * Quotas on the gateway (in-process counters): requests per minute, tokens per minute and
 * spend budgets on a key and on a project. A call over a limit is a 429 with Retry-After in
 * OpenAI's error shape, is traced as an error and never reaches the provider; limits hold under
 * concurrent load; every call, streamed or cut short, settles what it really used.
 */

const PRICE = { input_per_mtok: 10_000, output_per_mtok: 10_000 }; // 10,000 µ$ per token
const hi = [{ role: "user", content: "hi" }];

describe("gateway quotas", () => {
  let fake: FakeOpenAI;
  let keel: RunningKeel;
  let chatUrl: string;

  before(async () => {
    fake = await startFakeOpenAI({ name: "up" });
    keel = await startKeel({
      traces: { flush_interval_ms: 10 },
      providers: { up: { type: "openai-compatible", base_url: fake.url } },
      models: [
        { name: "chat", price: PRICE, deployments: [{ provider: "up", model: "upstream" }] },
        {
          name: "embed",
          kind: "embedding",
          deployments: [{ provider: "up", model: "upstream-embed" }],
        },
      ],
    });
    chatUrl = `${keel.url}/v1/chat/completions`;
  });

  after(async () => {
    await keel.close();
    await fake.close();
  });

  beforeEach(() => fake.reset());

  test("a key's requests per minute hold within 5% under 300 concurrent calls against 100/min", async () => {
    const project = await createProject(keel, "rpm-key");
    const { key } = await createKey(keel, {
      project_id: project,
      limits: { requests_per_minute: 100 },
    });
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => post(chatUrl, key, { model: "chat", messages: hi })),
    );
    const allowed = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(allowed + refused.length, 300);
    assert.ok(allowed >= 95 && allowed <= 105, `allowed ${allowed} of 100`);
    assert.equal(fake.requests.length, allowed);
    const denial = refused[0]!;
    assert.match(denial.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
    assert.equal(denial.error!.type, "rate_limit_error");
    assert.equal(denial.error!.code, "rate_limited");
    assert.match(denial.error!.message, /exceeded requests_per_minute \(100\)/);
    const trace = await traceRow(keel.keel.database.db, denial.headers.get("x-keel-trace-id")!);
    assert.equal(trace.status, "error");
    assert.equal(trace.error_code, "rate_limited");
    assert.equal(trace.http_status, 429);
  });

  test("a project's requests per minute are shared by all its keys", async () => {
    const project = await createProject(keel, "rpm-project", { requests_per_minute: 10 });
    const keys = [
      await createKey(keel, { project_id: project }),
      await createKey(keel, { project_id: project }),
    ];
    let allowed = 0;
    for (let i = 0; i < 8; i++) {
      for (const { key } of keys) {
        if ((await post(chatUrl, key, { model: "chat", messages: hi })).status === 200) allowed++;
      }
    }
    assert.equal(allowed, 10);
  });

  test("tokens per minute reserve prompt + max_tokens before the call, and the OpenAI SDK sees a RateLimitError", async () => {
    // 7 prompt tokens (Keel's estimate for "hi") + max_tokens 93 = 100 reserved per call.
    const project = await createProject(keel, "tpm-project", { tokens_per_minute: 1000 });
    const { key } = await createKey(keel, { project_id: project });
    fake.configure({ latencyMs: 200 }); // every admit happens before the first settle
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        post(chatUrl, key, { model: "chat", messages: hi, max_tokens: 93 }),
      ),
    );
    assert.equal(answers.filter((a) => a.status === 200).length, 10);
    fake.configure({ latencyMs: 0 });

    const client = new OpenAI({ baseURL: `${keel.url}/v1`, apiKey: key, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 5000,
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError);
        assert.match(err.message, /more than its tokens_per_minute \(1000\) allows at all/);
        return true;
      },
    );
  });

  test("streamed calls settle their real cost: a daily budget runs out after the calls it paid for", async () => {
    const { key } = await createKey(keel, {
      project_id: await createProject(keel, "budget-stream"),
      limits: { daily_budget_usd: 1 },
    });
    const db = keel.keel.database.db;
    const reserve = (7 + 20) * 10_000; // what each call reserves: 7 prompt + max_tokens 20
    let spent = 0;
    let denial;
    for (let i = 0; i < 40 && denial === undefined; i++) {
      const res = await post(chatUrl, key, {
        model: "chat",
        messages: hi,
        max_tokens: 20,
        stream: true,
      });
      if (res.status === 429) {
        denial = res;
        break;
      }
      assert.equal(res.status, 200);
      const trace = await traceRow(db, res.headers.get("x-keel-trace-id")!);
      assert.ok(trace.cost_micros > 0, "a streamed call is never free");
      spent += trace.cost_micros;
    }
    assert.ok(denial !== undefined, "the budget ran out");
    assert.match(denial.error!.message, /exceeded daily_budget_usd \(1\) USD/);
    assert.ok(spent <= 1_000_000, `spent ${spent}`);
    assert.ok(spent + reserve > 1_000_000, `spent ${spent}: the reservation would still fit`);
  });

  test("a stream the upstream cuts is billed for what it produced, not $0", async () => {
    const { key } = await createKey(keel, {
      project_id: await createProject(keel, "budget-cut"),
      limits: { daily_budget_usd: 100 },
    });
    fake.configure({ reply: "one two three four five six seven eight" });
    fake.queueFaults({ kind: "cut-stream", afterChunks: 3 });
    const res = await post(chatUrl, key, { model: "chat", messages: hi, stream: true });
    assert.equal(res.status, 200);
    const trace = await traceRow(keel.keel.database.db, res.headers.get("x-keel-trace-id")!);
    assert.equal(trace.status, "error");
    assert.ok(trace.completion_tokens > 0);
    assert.ok(trace.cost_micros > 0);
  });

  test("embeddings count against the key's limits too", async () => {
    const { key } = await createKey(keel, {
      project_id: await createProject(keel, "embed-rpm"),
      limits: { requests_per_minute: 2 },
    });
    const body = { model: "embed", input: "hello" };
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await post(`${keel.url}/v1/embeddings`, key, body)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
  });
});
