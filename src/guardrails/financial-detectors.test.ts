import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectPii } from "./pii-detectors.ts";
import type { PiiEntityType } from "./schema.ts";

const found = (text: string, type: PiiEntityType) =>
  detectPii(text)
    .filter((s) => s.type === type)
    .map((s) => s.text);

describe("credit card detector", () => {
  test("finds Visa, Mastercard, Amex, Discover, JCB and Diners numbers in usual groupings", () => {
    const cards = [
      "4111111111111111",
      "4111 1111 1111 1111",
      "4111-1111-1111-1111",
      "5555 5555 5555 4444",
      "2223 0031 2200 3222",
      "378282246310005",
      "3782 822463 10005",
      "6011 1111 1111 1117",
      "3530 1113 3330 0000",
      "3056 9309 0259 04",
    ];
    for (const card of cards)
      assert.deepEqual(found(`card ${card}, exp 09/27`, "credit_card"), [card], card);
  });

  test("rejects numbers that fail Luhn or lie outside the card networks' ranges", () => {
    const text =
      "Loyalty 4111 1111 1111 1112, gift card 9111 1111 1111 1118, id 1234567812345670, " +
      "amex-length 4111 111111 11111.";
    assert.deepEqual(found(text, "credit_card"), []);
  });

  test("rejects mixed separators and digits glued to a longer number", () => {
    assert.deepEqual(found("x 4111 1111-1111 1111 y", "credit_card"), []);
    assert.deepEqual(found("tweet 141111111111111112", "credit_card"), []);
  });

  test("does not take the middle of a grouped IBAN for a card, but keeps a card after a word", () => {
    assert.deepEqual(found("IBAN DE76 4945 5994 0535 2411 57 (invalid)", "credit_card"), []);
    assert.deepEqual(found("VISA 4111 1111 1111 1111", "credit_card"), ["4111 1111 1111 1111"]);
  });
});

describe("IBAN detector", () => {
  test("finds valid IBANs of several countries, compact and in groups of four", () => {
    const ibans = [
      "DE89370400440532013000",
      "DE89 3704 0044 0532 0130 00",
      "GB29 NWBK 6016 1331 9268 19",
      "FR14 2004 1010 0505 0001 3M02 606",
      "NL91ABNA0417164300",
      "BE68 5390 0754 7034",
      "CH93 0076 2011 6238 5295 7",
    ];
    for (const iban of ibans) assert.deepEqual(found(`Pay to ${iban} (EUR)`, "iban"), [iban], iban);
  });

  test("rejects a failing checksum, a wrong length and an unknown country", () => {
    const text = "DE89 3704 0044 0532 0130 01, DE8937040044053201300, ZZ89370400440532013000";
    assert.deepEqual(found(text, "iban"), []);
  });

  test("stops before a following upper-case word", () => {
    assert.deepEqual(found("IBAN DE89 3704 0044 0532 0130 00 EUR", "iban"), [
      "DE89 3704 0044 0532 0130 00",
    ]);
  });
});

describe("US SSN detector", () => {
  test("finds hyphenated SSNs and spaced ones after the words SSN or social security number", () => {
    assert.deepEqual(found("SSN 123-45-6789 on file", "us_ssn"), ["123-45-6789"]);
    assert.deepEqual(found("my social security number is 123 45 6789.", "us_ssn"), ["123 45 6789"]);
    assert.deepEqual(found("ssn: 123456789", "us_ssn"), ["123456789"]);
  });

  test("rejects area 000, 666 and 9xx, group 00, serial 0000 and published samples", () => {
    const text =
      "000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000 078-05-1120 and a bare 123456789";
    assert.deepEqual(found(text, "us_ssn"), []);
  });

  test("does not match dates or ISBNs", () => {
    assert.deepEqual(found("2024-03-15, 978-3-16-148410-0, 12-34-5678", "us_ssn"), []);
  });
});
