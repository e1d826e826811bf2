import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ibanCheckDigits,
  ibanValid,
  luhnCheckDigit,
  luhnValid,
  shannonEntropy,
} from "./checksums.ts";

describe("checksums", () => {
  test("Luhn accepts published test card numbers and rejects a changed digit", () => {
    for (const card of ["4111111111111111", "5555555555554444", "378282246310005"]) {
      assert.equal(luhnValid(card), true, card);
    }
    assert.equal(luhnValid("4111111111111112"), false);
    assert.equal(luhnValid(""), false);
    assert.equal(luhnValid("4111a11111111111"), false);
  });

  test("the Luhn check digit completes any prefix into a valid number", () => {
    for (const prefix of ["411111111111111", "37828224631000", "6011000990139"]) {
      assert.equal(luhnValid(prefix + luhnCheckDigit(prefix)), true, prefix);
    }
  });

  test("IBAN mod-97 accepts real-format examples and rejects a changed digit or length", () => {
    for (const iban of [
      "DE89370400440532013000",
      "GB29NWBK60161331926819",
      "FR1420041010050500013M02606",
    ]) {
      assert.equal(ibanValid(iban), true, iban);
    }
    assert.equal(ibanValid("DE89370400440532013001"), false, "changed digit");
    assert.equal(ibanValid("DE8937040044053201300"), false, "wrong length for DE");
    assert.equal(ibanValid("ZZ89370400440532013000"), false, "unknown country");
  });

  test("computed IBAN check digits make a valid IBAN", () => {
    assert.equal(ibanCheckDigits("DE", "370400440532013000"), "89");
    assert.equal(ibanValid(`NL${ibanCheckDigits("NL", "ABNA0417164300")}ABNA0417164300`), true);
  });

  test("entropy is 0 for a repeated character and log2(n) for n distinct ones", () => {
    assert.equal(shannonEntropy("aaaa"), 0);
    assert.equal(shannonEntropy("abcd"), 2);
    assert.equal(shannonEntropy(""), 0);
  });
});
