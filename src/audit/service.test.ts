import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { engines, type TestDatabase } from "../../test/helpers/engines.ts";
import type { KeelError } from "../core/errors.ts";
import { seededRandom } from "../core/random.ts";
import { Secret } from "../core/secret.ts";
import { GENESIS_HASH } from "./chain.ts";
import { cleanString, isCredentialName } from "./redact.ts";
import { createAuditService, type AuditService } from "./service.ts";

const T0 = Date.UTC(2026, 0, 1);

describe("text as stored", () => {
  test("cleanString stores what dropping NULs and making the text well-formed always gave", () => {
    const reference = (value: string, max: number): string => {
      let text = value.toWellFormed().replaceAll("\u0000", "");
      if (text.length > max) text = `${text.slice(0, max - 1).toWellFormed()}…`;
      return text;
    };
    const random = seededRandom(512);
    const pieces = ["a", "Z", "é", "😀", "\u0000", "\ud800", "\udc00", '"', " "];
    for (let i = 0; i < 5_000; i++) {
      const length = Math.floor(random() * (random() < 0.8 ? 12 : 300));
      let value = "";
      // Mostly clean text, as in practice; NULs and lone surrogates in about one in five.
      const odd = random() < 0.2;
      for (let c = 0; c < length; c++) {
        value += pieces[Math.floor(random() * (odd ? pieces.length : 4))];
      }
      const max = [1, 2, 5, 100, 200][Math.floor(random() * 5)]!;
      assert.equal(cleanString(value, max), reference(value, max), JSON.stringify(value));
    }
  });

  test("a field name's credential check gives the same answer from memory", () => {
    const random = seededRandom(2_048);
    const prefixes = ["", "x", "api", "Api_", "openai-", "my", "webhook", "user", "0"];
    // The answer depends on how a name ends, whatever comes before.
    const endings: [string, boolean][] = [
      ["_api_key", true],
      ["Secret", true],
      ["-Password", true],
      ["_access_token", true],
      ["_id", false],
      ["_count", false],
      ["_tokens", false],
      ["Key", false],
    ];
    // More distinct names than the memory holds, so it is also emptied along the way, with
    // names that share beginnings (a memory keyed on less than the whole name gets them wrong).
    for (let i = 0; i < 3_000; i++) {
      let name = "";
      for (let p = Math.floor(random() * 4); p >= 0; p--) {
        name += prefixes[Math.floor(random() * prefixes.length)];
      }
      const [ending, credential] = endings[Math.floor(random() * endings.length)]!;
      name += `${i % 1_500}${ending}`;
      assert.equal(isCredentialName(name), credential, name);
      assert.equal(isCredentialName(name), credential, name);
    }
  });
});

for (const engine of engines()) {
  describe(`audit log on ${engine.name}`, { skip: engine.skip }, () => {
    let database: TestDatabase;
    let audit: AuditService;
    let clock = T0;

    before(async () => {
      database = await engine.open();
      audit = createAuditService(database.db, { now: () => clock, pageSize: 7 });
    });
    after(async () => {
      await database?.dispose();
    });
    beforeEach(async () => {
      await sql`delete from audit_log`.execute(database.db);
      clock = T0;
    });

    test("appends entries chained from the genesis hash, with gapless seq", async () => {
      const a = await audit.append({
        action: "keys.create",
        outcome: "success",
        actor_key_id: "key_a",
      });
      const b = await audit.append({ action: "keys.revoke", outcome: "denied", status_code: 403 });
      assert.equal(a.seq, 1);
      assert.equal(a.prev_hash, GENESIS_HASH);
      assert.equal(b.seq, 2);
      assert.equal(b.prev_hash, a.hash);
      assert.match(a.id, /^aud_/);
      assert.equal(a.created_at, new Date(T0).toISOString());
      assert.deepEqual(await audit.verify(), {
        ok: true,
        entries: 2,
        head: { seq: 2, hash: b.hash },
      });
    });

    test("concurrent appends never fork the chain", async () => {
      await Promise.all([
        ...Array.from({ length: 30 }, (_, i) =>
          audit.append({ action: "model.invoke", outcome: "success", resource_id: `r${i}` }),
        ),
        ...Array.from({ length: 5 }, () =>
          audit.appendMany([
            { action: "keys.create", outcome: "success" },
            { action: "keys.create", outcome: "success" },
          ]),
        ),
      ]);
      const result = await audit.verify();
      assert.equal(result.ok, true, JSON.stringify(result.first_bad));
      assert.equal(result.entries, 40);
      assert.equal(result.head?.seq, 40);
    });

    test("lists newest first with filters and cursor pages", async () => {
      for (let i = 0; i < 12; i++) {
        clock = T0 + i * 60_000;
        await audit.append({
          action: i % 3 === 0 ? "keys.create" : "model.invoke",
          outcome: "success",
          actor_key_id: i % 2 === 0 ? "key_even" : "key_odd",
          project_id: "prj_1",
        });
      }
      const seen: number[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await audit.list({}, { limit: 5, cursor });
        seen.push(...page.data.map((e) => e.seq));
        if (page.next_cursor === null) break;
        cursor = page.next_cursor;
      }
      assert.deepEqual(seen, [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);

      const creates = await audit.list({ action: "keys.create" }, { limit: 50 });
      assert.deepEqual(
        creates.data.map((e) => e.seq),
        [10, 7, 4, 1],
      );
      const odd = await audit.list(
        { actor_key_id: "key_odd", action: "model.invoke" },
        { limit: 50 },
      );
      assert.deepEqual(
        odd.data.map((e) => e.seq),
        [12, 8, 6, 2],
      );
      const window = await audit.list(
        { since: T0 + 2 * 60_000, until: T0 + 4 * 60_000 },
        { limit: 50 },
      );
      assert.deepEqual(
        window.data.map((e) => e.seq),
        [5, 4, 3],
      );
      assert.equal((await audit.list({ project_id: "prj_2" }, { limit: 5 })).data.length, 0);
    });

    test("entries never store credentials found in their details", async () => {
      const entry = await audit.append({
        action: "providers.update",
        outcome: "success",
        details: {
          api_key: "sk-live-111",
          headers: { Authorization: "Bearer sk-live-222", "x-api-key": "sk-live-333" },
          nested: [{ password: "hunter2", webhookSecret: "whsec_444" }],
          token: new Secret("tok-555"),
          note: "Bearer sk-live-666",
          max_tokens: 64,
          prompt_tokens: 10,
        },
      });
      assert.deepEqual(entry.details, {
        api_key: "[redacted]",
        headers: { Authorization: "[redacted]", "x-api-key": "[redacted]" },
        nested: [{ password: "[redacted]", webhookSecret: "[redacted]" }],
        token: "[redacted]",
        note: "[redacted]",
        max_tokens: 64,
        prompt_tokens: 10,
      });
      const raw = await sql<{ details: string }>`select details from audit_log`.execute(
        database.db,
      );
      assert.doesNotMatch(raw.rows[0]!.details, /sk-live|hunter2|whsec|tok-555/);
    });

    test("details are stored without floats and in canonical key order", async () => {
      const entry = await audit.append({
        action: "model.invoke",
        outcome: "success",
        details: { z: 0.25, a: 3, when: new Date(T0), big: 10n, nan: Number.NaN },
      });
      assert.deepEqual(entry.details, { a: 3, big: "10", nan: null, when: T0, z: "0.25" });
      const raw = await sql<{ details: string }>`select details from audit_log`.execute(
        database.db,
      );
      assert.equal(raw.rows[0]!.details, `{"a":3,"big":"10","nan":null,"when":${T0},"z":"0.25"}`);
    });

    test("odd text (NUL, lone surrogates, huge user agents) is stored so it still verifies", async () => {
      await audit.append({
        action: "model.invoke",
        outcome: "error",
        user_agent: `agent\u0000${"x".repeat(5_000)}`,
        resource_id: "bad\ud800id",
        details: { prompt: "a\u0000b\udc00c" },
      });
      assert.equal((await audit.verify()).ok, true);
      const [entry] = (await audit.list({}, { limit: 1 })).data;
      assert.equal(entry!.user_agent!.length, 512);
    });

    test("an invalid event is a 400 naming the field", async () => {
      await assert.rejects(
        audit.append({ action: "Keys Create", outcome: "success" }),
        (err: KeelError) => err.status === 400 && err.param === "action",
      );
      await assert.rejects(
        audit.append({ action: "keys.create", outcome: "maybe" as "success" }),
        (err: KeelError) => err.status === 400 && err.param === "outcome",
      );
    });

    test("verification walks the log in pages", async () => {
      await audit.appendMany(
        Array.from({ length: 23 }, () => ({ action: "model.invoke", outcome: "success" as const })),
      );
      const result = await audit.verify();
      assert.equal(result.ok, true);
      assert.equal(result.entries, 23);
      const lines: string[] = [];
      for await (const chunk of audit.exportLines()) lines.push(...chunk.trimEnd().split("\n"));
      assert.equal(lines.length, 23);
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { seq: number }).seq),
        Array.from({ length: 23 }, (_, i) => i + 1),
      );
    });
  });
}
