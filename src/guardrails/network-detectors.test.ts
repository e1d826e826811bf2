import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectPii } from "./pii-detectors.ts";
import type { PiiEntityType } from "./schema.ts";

const found = (text: string, type: PiiEntityType) =>
  detectPii(text)
    .filter((s) => s.type === type)
    .map((s) => s.text);

describe("IPv4 detector", () => {
  test("finds addresses with ports, prefixes and at sentence end", () => {
    const text = "from 203.0.113.7:8443, route 10.20.0.0/16 and 192.168.1.254.";
    assert.deepEqual(found(text, "ipv4"), ["203.0.113.7", "10.20.0.0", "192.168.1.254"]);
  });

  test("rejects octets over 255, versions, dates and longer dotted numbers", () => {
    const text =
      "256.1.1.1, 192.168.1.300, v1.2.3.4, 1.2.3, 10.0.19045.3693, 15.03.2024, 1.2.3.4.5";
    assert.deepEqual(found(text, "ipv4"), []);
  });
});

describe("IPv6 detector", () => {
  test("finds full, compressed, loopback, link-local and IPv4-mapped addresses", () => {
    const addresses = [
      "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
      "2001:db8:85a3::8a2e:370:7334",
      "::1",
      "fe80::1ff:fe23:4567:890a",
      "::ffff:192.0.2.128",
      "2001:DB8::1",
    ];
    for (const a of addresses) assert.deepEqual(found(`peer ${a} up`, "ipv6"), [a], a);
    assert.deepEqual(found("listen [2001:db8::1]:443", "ipv6"), ["2001:db8::1"]);
  });

  test("rejects times, MAC addresses, C++ and Haskell syntax", () => {
    const text = "at 12:30:45, mac 00:1A:2B:3C:4D:5E, std::vector, x :: Int, a:b:c, dead:beef";
    assert.deepEqual(found(text, "ipv6"), []);
  });
});
