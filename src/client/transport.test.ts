import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeelError } from "../core/errors.ts";
import { Secret } from "../core/secret.ts";
import { closedPort } from "../../test/helpers/closed-port.ts";
import { startRecordingServer } from "../../test/fixtures/recording-server.ts";
import { createTransport, errorFromBody } from "./transport.ts";

describe("client transport", () => {
  test("sends DELETE with the key, and JSON only when there is a body", async () => {
    const server = await startRecordingServer(200, "{}");
    try {
      const transport = createTransport({ baseUrl: server.url, apiKey: new Secret("sk-t") });
      await (await transport.send("DELETE", "/api/keys/key_1")).body.text();
      await (await transport.send("POST", "/api/things", { body: { a: 1 } })).body.text();
      const [del, post] = server.seen;
      assert.equal(del?.method, "DELETE");
      assert.equal(del.url, "/api/keys/key_1");
      assert.equal(del.headers.authorization, "Bearer sk-t");
      assert.equal(del.headers["content-type"], undefined);
      assert.equal(post?.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(post.body), { a: 1 });
    } finally {
      await server.close();
    }
  });

  test("asks for JSON unless a call names another media type", async () => {
    const server = await startRecordingServer(200, '{"a":1}\n', "application/x-ndjson");
    try {
      const transport = createTransport({ baseUrl: server.url });
      await (await transport.send("GET", "/json")).body.text();
      const res = await transport.send("GET", "/lines", { accept: "application/x-ndjson" });
      assert.equal(await res.body.text(), '{"a":1}\n');
      assert.equal(server.seen[0]?.headers.accept, "application/json");
      assert.equal(server.seen[1]?.headers.accept, "application/x-ndjson");
      assert.equal(server.seen[1]?.headers.authorization, undefined, "no key, no header");
    } finally {
      await server.close();
    }
  });

  test("an unreachable server is named, with the question whether keel serve runs", async () => {
    const port = await closedPort();
    const transport = createTransport({ baseUrl: `http://127.0.0.1:${port}/` });
    await assert.rejects(transport.send("DELETE", "/api/keys/key_1"), (err: KeelError) => {
      assert.equal(err.code, "server_unreachable");
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}: .*is keel serve running\\?`));
      assert.match(err.message, /KEEL_URL/);
      return true;
    });
  });
});

describe("server error answers", () => {
  test("problem+json keeps its code, detail and field", () => {
    const err = errorFromBody(
      403,
      JSON.stringify({ code: "forbidden", detail: "needs projects:write", param: "role" }),
      "http://h/api/projects",
    );
    assert.ok(err instanceof KeelError);
    assert.equal(err.code, "forbidden");
    assert.equal(err.message, "needs projects:write");
    assert.equal(err.status, 403);
  });

  test("an OpenAI error object keeps its code and message", () => {
    const err = errorFromBody(
      404,
      JSON.stringify({ error: { code: "model_not_found", message: 'no model "x"' } }),
      "http://h/v1/chat/completions",
    );
    assert.equal(err.code, "model_not_found");
    assert.equal(err.message, 'no model "x"');
  });

  test("an unknown code falls back to the status's code", () => {
    const err = errorFromBody(409, JSON.stringify({ code: "weird", detail: "taken" }), "http://h/");
    assert.equal(err.code, "conflict");
    assert.equal(err.message, "taken");
  });
});
