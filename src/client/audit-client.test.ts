import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { KeelError } from "../core/errors.ts";
import { startRecordingServer } from "../../test/fixtures/recording-server.ts";
import { connectAudit } from "./audit-client.ts";

describe("audit client", () => {
  test("lists with only the filters given, as query parameters", async () => {
    const server = await startRecordingServer(200, JSON.stringify({ data: [], next_cursor: null }));
    try {
      const client = connectAudit(server.url, {});
      const page = await client.list({ action: "keys.create", since: undefined, limit: 20 });
      assert.deepEqual(page, { data: [], next_cursor: null });
      assert.equal(server.seen[0]?.url, "/api/audit?action=keys.create&limit=20");
    } finally {
      await server.close();
    }
  });

  test("exports JSON lines as raw chunks, asking for ndjson", async () => {
    const lines = '{"seq":1}\n{"seq":2}\n';
    const server = await startRecordingServer(200, lines, "application/x-ndjson");
    try {
      let text = "";
      for await (const chunk of await connectAudit(server.url, {}).exportLines()) {
        text += chunk.toString();
      }
      assert.equal(text, lines);
      assert.equal(server.seen[0]?.url, "/api/audit/export?format=jsonl");
      assert.match(server.seen[0]?.headers.accept ?? "", /^application\/x-ndjson/);
    } finally {
      await server.close();
    }
  });

  test("an export the server refuses fails before any line, with the server's reason", async () => {
    const problem = { code: "forbidden", detail: "this key may not read the audit log" };
    const server = await startRecordingServer(403, JSON.stringify(problem));
    try {
      await assert.rejects(
        connectAudit(server.url, {}).exportLines(),
        (err: KeelError) => err.code === "forbidden" && err.message === problem.detail,
      );
    } finally {
      await server.close();
    }
  });
});
