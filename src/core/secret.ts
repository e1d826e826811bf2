import { inspect } from "node:util";

/** What a credential reads as wherever Keel shows it: secrets, log lines, audit details. */
export const REDACTED = "[redacted]";

/**
 * A credential held in memory. It never prints: string conversion, JSON and `util.inspect`
 * all render `[redacted]`, so a secret that strays into a log line, a trace or an error
 * message shows up as that word instead of its value. Call `reveal()` where the value is
 * genuinely needed (an Authorization header).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
