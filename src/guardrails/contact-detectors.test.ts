import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectPii } from "./pii-detectors.ts";
import type { PiiEntityType } from "./schema.ts";

const found = (text: string, type: PiiEntityType) =>
  detectPii(text)
    .filter((s) => s.type === type)
    .map((s) => s.text);

describe("email detector", () => {
  test("finds addresses with dots, plus tags, subdomains and upper case", () => {
    const text =
      "Write to anna.smith+news@mail.example.org, (cc J.DOE@EXAMPLE.CO.UK) or <ops-team@corp.example.net>.";
    assert.deepEqual(found(text, "email"), [
      "anna.smith+news@mail.example.org",
      "J.DOE@EXAMPLE.CO.UK",
      "ops-team@corp.example.net",
    ]);
  });

  test("gives exact offsets, without the sentence's full stop", () => {
    const [span] = detectPii("mail me: bob@example.com.");
    assert.deepEqual(span && { start: span.start, end: span.end }, { start: 9, end: 24 });
  });

  test("ignores handles, hosts without a domain and decorators", () => {
    const text =
      "Thanks @anna! ssh user@localhost, see @Component and a@b, name at example dot com.";
    assert.deepEqual(found(text, "email"), []);
  });
});

describe("phone detector", () => {
  test("finds international E.164 numbers with and without separators", () => {
    const numbers = [
      "+14155550123",
      "+1 415 555 0123",
      "+1-415-555-0123",
      "+1 (415) 555-0123",
      "+44 20 7946 0958",
      "+44 (0)20 7946 0958",
      "+49 30 12345678",
      "+33 1 23 45 67 89",
      "+91 98765 43210",
    ];
    for (const n of numbers) assert.deepEqual(found(`call ${n} today`, "phone"), [n], n);
  });

  test("finds North American and European national formats", () => {
    const numbers = [
      "(415) 555-0123",
      "(415)555-0123",
      "415-555-0123",
      "415.555.0123",
      "415 555 0123",
      "1-800-555-0199",
      "020 7946 0958",
      "07700 900123",
      "01 23 45 67 89",
    ];
    for (const n of numbers) assert.deepEqual(found(`Office: ${n}.`, "phone"), [n], n);
  });

  test("finds a bare 10-digit number only right after a word like call or phone", () => {
    assert.deepEqual(found("Please call me at 4155550123 after 5pm", "phone"), ["4155550123"]);
    assert.deepEqual(found("phone: 4155550123", "phone"), ["4155550123"]);
    assert.deepEqual(found("Order 4155550123 shipped", "phone"), []);
  });

  test("does not mistake dates, times, order numbers, versions or IPs for phones", () => {
    const text =
      "On 2024-03-15 at 14:30:00 (15/03/2024, 03.15.2024) order ORD-2024-558812, invoice " +
      "INV-2023-000421, v10.4.1, build 10.0.19045.3693, ip 192.168.100.200, ext. 555-0123, " +
      "ISBN 0-306-40615-2, deployed 2024-03-15T14:30:00+01:00, score +15, id 1234567890.";
    assert.deepEqual(found(text, "phone"), []);
  });

  test("takes space-separated 3-3-4 digits for a phone only after a phone word", () => {
    assert.deepEqual(found("Block sizes 256 512 1024 and 384 768 1536.", "phone"), []);
    assert.deepEqual(found("Reach me on 415 555 0123.", "phone"), ["415 555 0123"]);
  });

  test("rejects NANP numbers with an invalid area or exchange code", () => {
    assert.deepEqual(found("call 115-555-0123 or 415-155-0123", "phone"), []);
  });
});
