import { test } from "node:test";
import assert from "node:assert/strict";
import { redactLogFields } from "./log-redaction.ts";
import { REDACTED } from "./secret.ts";
import { createLogger } from "./logger.ts";

test("credential headers are redacted under headers and req.headers, in any letter case", () => {
  const fields = {
    headers: { authorization: "Bearer sk-1", "X-Api-Key": "k2", accept: "*/*" },
    req: { method: "POST", headers: { "api-key": "k3", "user-agent": "curl" } },
  };
  assert.deepEqual(redactLogFields(fields), {
    headers: { authorization: REDACTED, "X-Api-Key": REDACTED, accept: "*/*" },
    req: { method: "POST", headers: { "api-key": REDACTED, "user-agent": "curl" } },
  });
});

test("an api_key or apiKey field of any top-level object is redacted", () => {
  const out = redactLogFields({
    provider: { name: "openai", api_key: "sk-x" },
    client: { apiKey: "sk-y", ApiKey: "sk-z" },
    msg: "starting",
  });
  assert.deepEqual(out, {
    provider: { name: "openai", api_key: REDACTED },
    client: { apiKey: REDACTED, ApiKey: REDACTED },
    msg: "starting",
  });
});

test("the caller's objects are never edited", () => {
  const headers = { authorization: "Bearer sk-1" };
  const req = { headers: { authorization: "Bearer sk-2" } };
  const fields = { headers, req };
  redactLogFields(fields);
  assert.equal(headers.authorization, "Bearer sk-1");
  assert.equal(req.headers.authorization, "Bearer sk-2");
  assert.equal(fields.headers, headers);
});

test("a line with nothing to redact is returned as it is, not copied", () => {
  const flat = { method: "POST", url: "/v1/chat/completions", status: 200, ms: 3 };
  assert.equal(redactLogFields(flat), flat);
  const nested = { err: { message: "boom", code: "x" }, headers: { accept: "*/*" }, list: [1] };
  assert.equal(redactLogFields(nested), nested);
});

test("headers not under headers or req are left alone (only known places are searched)", () => {
  const fields = { upstream: { authorization: "not a header here" } };
  assert.equal(redactLogFields(fields), fields);
});

test("Keel's logger writes redacted lines", () => {
  const lines: string[] = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
  logger.child({ reqId: "r1" }).info({ headers: { authorization: "Bearer sk-secret" } }, "hi");
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, /sk-secret/);
  const line = JSON.parse(lines[0]!) as { headers: unknown; reqId: string };
  assert.deepEqual(line.headers, { authorization: REDACTED });
  assert.equal(line.reqId, "r1");
});
