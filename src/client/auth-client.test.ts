import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { KeelError } from "../core/errors.ts";
import { Secret } from "../core/secret.ts";
import { startRecordingServer } from "../../test/fixtures/recording-server.ts";
import { connectAuth, createAuthClient } from "./auth-client.ts";

describe("projects and keys client", () => {
  test("without an API key it refuses before calling, naming KEEL_API_KEY", async () => {
    const server = await startRecordingServer(200, JSON.stringify({ data: [] }));
    try {
      const client = createAuthClient({ baseUrl: server.url, apiKey: undefined });
      await assert.rejects(client.listProjects(), (err: KeelError) => {
        assert.equal(err.code, "unauthorized");
        assert.match(err.message, /set KEEL_API_KEY/);
        return true;
      });
      assert.equal(server.seen.length, 0, "nothing reached the server");
    } finally {
      await server.close();
    }
  });

  test("revoking sends DELETE for the key and keeps the server's refusal", async () => {
    const problem = { code: "not_found", detail: 'no API key with id "key x"' };
    const server = await startRecordingServer(404, JSON.stringify(problem));
    try {
      const client = createAuthClient({ baseUrl: server.url, apiKey: new Secret("sk-keel-t") });
      await assert.rejects(
        client.revokeKey("key x"),
        (err: KeelError) => err.code === "not_found" && err.message === problem.detail,
      );
      assert.equal(server.seen[0]?.method, "DELETE");
      assert.equal(server.seen[0]?.url, "/api/keys/key%20x");
      assert.equal(server.seen[0]?.headers.authorization, "Bearer sk-keel-t");
    } finally {
      await server.close();
    }
  });

  test("lists keys with the filters as query parameters", async () => {
    const server = await startRecordingServer(200, JSON.stringify({ data: [] }));
    try {
      const client = connectAuth(undefined, { KEEL_URL: server.url, KEEL_API_KEY: "sk-keel-t" });
      assert.deepEqual(await client.listKeys({ project_id: "prj_1", include_revoked: true }), []);
      assert.equal(server.seen[0]?.url, "/api/keys?project_id=prj_1&include_revoked=true");
    } finally {
      await server.close();
    }
  });
});
