import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { traceDetailSchema, traceListSchema } from "../src/traces/index.ts";
import { errorTraceRecord, traceRecord } from "./fixtures/trace-records.ts";
import { closedPort } from "./helpers/closed-port.ts";
import { runKeel } from "./helpers/keel-cli.ts";
import { startKeel, type RunningKeel } from "./helpers/keel.ts";

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

describe("keel traces", () => {
  let server: RunningKeel;
  /** `keel …` with this server's admin key in KEEL_API_KEY. */
  const keel = (args: readonly string[], env: Record<string, string> = {}) =>
    runKeel(args, { KEEL_API_KEY: server.apiKey, ...env });
  const records = [
    traceRecord(T0, { tokens_estimated: true }),
    errorTraceRecord(T0 + 1_000),
    traceRecord(T0 + 2_000, { model: "summarizer", cost_micros: 2_500_000 }),
  ];

  before(async () => {
    server = await startKeel();
    for (const record of records) server.keel.traces.enqueue(record);
    await server.keel.traces.flush();
  });
  after(async () => server.close());

  test("ls --json prints the page the API returns", async () => {
    const r = await keel(["traces", "ls", "--json", "--url", server.url]);
    assert.equal(r.code, 0, r.stderr);
    const page = traceListSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(
      page.data.map((t) => t.id),
      records.map((t) => t.id).reverse(),
    );
    assert.equal(page.next_cursor, null);
  });

  test("ls prints a table with time, model, status, latency, tokens and cost", async () => {
    const r = await keel(["traces", "ls", "--url", server.url]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+TIME \(UTC\)\s+MODEL\s+STATUS\s+LATENCY\s+TOKENS\s+COST$/);
    assert.equal(lines.length, 4);
    assert.match(
      lines[1]!,
      new RegExp(
        `^${records[2]!.id}\\s+2026-01-31 12:00:02\\s+summarizer\\s+ok\\s+120 ms\\s+12\\+30\\s+\\$2\\.500000$`,
      ),
    );
    assert.match(lines[2]!, /support-bot\s+provider_timeout\s+120 ms\s+12\+0\s+\$0\.000000$/);
    assert.match(lines[3]!, /~12\+30\s+\$0\.001250$/, "estimated tokens are marked");
  });

  test("ls filters and pages, printing where the next page starts", async () => {
    const url = ["--url", server.url];
    const first = await keel(["traces", "ls", "--model", "support-bot", "--limit", "1", ...url]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(records[1]!.id));
    const cursor = /more: keel traces ls --cursor (\S+)/.exec(first.stderr)?.[1];
    assert.ok(cursor !== undefined, first.stderr);
    const next = ["--limit", "1", "--cursor", cursor, "--json", ...url];
    const second = await keel(["traces", "ls", "--model", "support-bot", ...next]);
    assert.equal(second.code, 0, second.stderr);
    const page = traceListSchema.parse(JSON.parse(second.stdout));
    assert.deepEqual(
      page.data.map((t) => t.id),
      [records[0]!.id],
    );
    assert.equal(page.next_cursor, null);

    const since = new Date(T0 + 500).toISOString();
    const errors = await keel([
      "traces",
      "ls",
      "--status",
      "error",
      "--since",
      since,
      "--json",
      ...url,
    ]);
    assert.equal(errors.code, 0, errors.stderr);
    const errorPage = traceListSchema.parse(JSON.parse(errors.stdout));
    assert.deepEqual(
      errorPage.data.map((t) => t.id),
      [records[1]!.id],
    );
  });

  test("KEEL_URL finds the server without --url; --since takes an age like 1h", async () => {
    const r = await keel(["traces", "ls", "--since", "1h"], { KEEL_URL: server.url });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "", "the fixtures are from January 2026: none in the last hour");
    assert.equal(r.stderr, "no traces match\n");
  });

  test("show prints one trace with its attempts and bodies", async () => {
    const r = await keel(["traces", "show", records[0]!.id, "--url", server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^id\\s+${records[0]!.id}$`, "m"));
    assert.match(r.stdout, /^model\s+support-bot \(chat\.completions\)$/m);
    assert.match(r.stdout, /^latency\s+120 ms, first token 40 ms$/m);
    assert.match(r.stdout, /^ {2}1\. vllm\/llama {2}ok HTTP 200 {2}115 ms$/m);
    assert.match(r.stdout, /^request body\n {2}\{/m);
    assert.match(r.stdout, /"content": "hello"/);

    const json = await keel(["traces", "show", records[1]!.id, "--json", "--url", server.url]);
    assert.equal(json.code, 0, json.stderr);
    const trace = traceDetailSchema.parse(JSON.parse(json.stdout));
    assert.equal(trace.error_code, "provider_timeout");
  });

  test("an unknown id fails with one line and exit 1", async () => {
    const r = await keel(["traces", "show", "trc_00000000000000000000000000", "--url", server.url]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'keel: no trace with id "trc_00000000000000000000000000"\n');
  });

  test("a bad filter is refused with what to fix", async () => {
    const badSince = await keel(["traces", "ls", "--since", "last tuesday", "--url", server.url]);
    assert.equal(badSince.code, 1);
    assert.match(badSince.stderr, /^keel: since: expected an ISO-8601 time/);
    const badLimit = await keel(["traces", "ls", "--limit", "0", "--url", server.url]);
    assert.equal(badLimit.code, 2);
    assert.match(badLimit.stderr, /1 to 200/);
  });
});

describe("keel traces without a server", () => {
  test("says which URL it could not reach and exits 1", async () => {
    const port = await closedPort();
    const r = await runKeel(["traces", "ls", "--url", `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.split("\n").length, 2, "one line");
    assert.match(
      r.stderr,
      new RegExp(
        `^keel: cannot reach Keel at http://127\\.0\\.0\\.1:${port}: .*is keel serve running\\?`,
      ),
    );
  });
});
