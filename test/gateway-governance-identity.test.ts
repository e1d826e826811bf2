import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startFakeOpenAI, type FakeOpenAI } from "./fixtures/fake-openai.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";
import { bearer, createKey, createProject, post, traceRow } from "./helpers/tenants.ts";

/**
 * Who may call what on the gateway: a key limited to some models can use only those (and sees
 * only those), and every call is traced under the caller's project.
 */
describe("gateway identity", () => {
  let fake: FakeOpenAI;
  let keel: RunningKeel;

  before(async () => {
    fake = await startFakeOpenAI({ name: "up" });
    keel = await startKeel({
      providers: { up: { type: "openai-compatible", base_url: fake.url } },
      models: [
        { name: "model-a", deployments: [{ provider: "up", model: "upstream-a" }] },
        { name: "model-b", deployments: [{ provider: "up", model: "upstream-b" }] },
        {
          name: "embed",
          kind: "embedding",
          deployments: [{ provider: "up", model: "upstream-embed" }],
        },
      ],
    });
  });

  after(async () => {
    await keel.close();
    await fake.close();
  });

  beforeEach(() => fake.reset());

  test("a key limited to model A gets 403 on model B and on unknown models, and B is never called", async () => {
    const project = await createProject(keel, "limited-models");
    const { key } = await createKey(keel, { project_id: project, models: ["model-a"] });
    const client = new OpenAI({ baseURL: `${keel.url}/v1`, apiKey: key, maxRetries: 0 });

    const ok = await client.chat.completions.create({
      model: "model-a",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(ok.choices[0]!.message.content, "Hello from up");

    for (const model of ["model-b", "no-such-model"]) {
      await assert.rejects(
        client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.PermissionDeniedError);
          assert.equal(err.status, 403);
          assert.equal(err.code, "forbidden");
          assert.match(err.message, /limited to: model-a/);
          return true;
        },
      );
    }
    // Also with a body that is otherwise invalid: the model is checked first, nothing traced.
    const invalid = await post(`${keel.url}/v1/chat/completions`, key, { model: "model-b" });
    assert.equal(invalid.status, 403);
    assert.equal(invalid.headers.get("x-keel-trace-id"), null);
    const embed = await post(`${keel.url}/v1/embeddings`, key, { model: "embed", input: "x" });
    assert.equal(embed.status, 403);
    assert.deepEqual(
      fake.requests.map((r) => String(r.body.model)),
      ["upstream-a"],
    );
  });

  test("GET /v1/models lists only the models the key may use", async () => {
    const project = await createProject(keel, "model-listing");
    const { key } = await createKey(keel, { project_id: project, models: ["model-a", "embed"] });
    const client = new OpenAI({ baseURL: `${keel.url}/v1`, apiKey: key, maxRetries: 0 });
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids, ["model-a", "embed"]);
    assert.equal((await client.models.retrieve("model-a")).id, "model-a");
    const other = await fetch(`${keel.url}/v1/models/model-b`, { headers: bearer(key) });
    assert.equal(other.status, 403);

    const everything = new OpenAI({ baseURL: `${keel.url}/v1`, apiKey: keel.apiKey });
    const all = [];
    for await (const model of everything.models.list()) all.push(model.id);
    assert.deepEqual(all, ["model-a", "model-b", "embed"]);
  });

  test("each project's calls are traced under that project, never the other's", async () => {
    const projectA = await createProject(keel, "tenant-a");
    const projectB = await createProject(keel, "tenant-b");
    const keyA = await createKey(keel, { project_id: projectA });
    const keyB = await createKey(keel, { project_id: projectB });
    const body = { model: "model-a", messages: [{ role: "user", content: "hi" }] };
    const resA = await post(`${keel.url}/v1/chat/completions`, keyA.key, body);
    const resB = await post(`${keel.url}/v1/chat/completions`, keyB.key, {
      ...body,
      stream: true,
    });
    assert.equal(resA.status, 200);
    assert.equal(resB.status, 200);
    const db = keel.keel.database.db;
    const traceA = await traceRow(db, resA.headers.get("x-keel-trace-id")!);
    const traceB = await traceRow(db, resB.headers.get("x-keel-trace-id")!);
    assert.equal(traceA.project_id, projectA);
    assert.equal(traceB.project_id, projectB);
    assert.equal(JSON.parse(traceA.metadata).key_id, keyA.id);

    const rowsOfB = await db
      .selectFrom("traces")
      .select("id")
      .where("project_id", "=", projectB)
      .execute();
    assert.deepEqual(
      rowsOfB.map((r) => r.id),
      [traceB.id],
    );
    // The global owner key's calls belong to no project.
    const global = await post(`${keel.url}/v1/chat/completions`, keel.apiKey, body);
    const globalTrace = await traceRow(db, global.headers.get("x-keel-trace-id")!);
    assert.equal(globalTrace.project_id, null);
  });
});
