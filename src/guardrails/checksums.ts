/**
 * Check-digit algorithms that tell a real identifier from a number of the same shape: Luhn
 * (payment cards) and ISO 13616 mod-97 (IBAN), with the IBAN length of each country.
 */

/** Luhn (mod 10) over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** The digit that makes `partial + digit` pass Luhn. */
export function luhnCheckDigit(partial: string): string {
  for (let d = 0; d <= 9; d++) {
    if (luhnValid(partial + String(d))) return String(d);
  }
  return "0";
}

/** IBAN lengths by country (ISO 13616 registry; SEPA countries and common others). */
export const ibanLengths: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18,
  FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23,
  IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27,
  MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SE: 24, SI: 19, SK: 24, SM: 27, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20,
}; // prettier-ignore

/** ISO 7064 mod 97-10 of an IBAN-ordered string (letters as 10..35); 1 means valid. */
function mod97(rearranged: string): number {
  let rest = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const code = rearranged.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      rest = (rest * 10 + (code - 48)) % 97;
    } else if (code >= 65 && code <= 90) {
      rest = (rest * 100 + (code - 55)) % 97;
    } else {
      return -1;
    }
  }
  return rest;
}

/** Whether a compact, upper-case IBAN has its country's length and a valid mod-97 check. */
export function ibanValid(compact: string): boolean {
  const length = ibanLengths[compact.slice(0, 2)];
  if (length === undefined || compact.length !== length) return false;
  return mod97(compact.slice(4) + compact.slice(0, 4)) === 1;
}

/** The two check digits that make `country + digits + bban` a valid IBAN. */
export function ibanCheckDigits(country: string, bban: string): string {
  const check = 98 - mod97(bban + country + "00");
  return String(check).padStart(2, "0");
}

/** Shannon entropy of a string in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
