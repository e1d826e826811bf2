import { InvalidArgumentError, Option } from "commander";
import { serverUrlHelp } from "./output.ts";

/** Parsers for option values: a bad value is a usage error (exit 2) saying what to write. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError("expected a port number between 0 and 65535");
  }
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** A parser for an integer from `min` to `max`, such as a page size. */
export function intInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

const AGE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration like `90s`, `15m`, `2h` or `7d` in milliseconds; undefined when it is not one. */
export function durationMs(value: string): number | undefined {
  const age = AGE.exec(value.trim());
  if (age === null) return undefined;
  return Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS];
}

/**
 * A time filter: an age (`15m`, `2h`, `7d`) becomes the ISO time that long ago; anything else
 * (ISO-8601) goes to the server as is, which names the field when it is not a time.
 */
export function parseTimeOption(value: string): string {
  const ms = durationMs(value);
  return ms === undefined ? value : new Date(Date.now() - ms).toISOString();
}

/** `--url`, for every command that talks to a running server. */
export function urlOption(): Option {
  return new Option("--url <url>", serverUrlHelp).argParser(parseUrl);
}

function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected a URL such as http://127.0.0.1:4141");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError("expected an http:// or https:// URL");
  }
  return value;
}
