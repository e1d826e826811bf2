import { pino, type Logger, type DestinationStream } from "pino";
import { redactLogFields } from "./log-redaction.ts";

export type { Logger };

/**
 * Structured JSON logs. Credentials in a line's fields are redacted (log-redaction.ts) as a
 * second line of defence; the first is that secrets are `Secret` objects that render as
 * `[redacted]`. Without a destination, lines go to stdout through `logDestination`.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "keel" },
      formatters: { log: redactLogFields },
    },
    destination ?? logDestination(1),
  );
}

/**
 * Where log lines go (a file descriptor or a file path), written asynchronously: a synchronous
 * write per line costs the request path several µs, and the lines logged while a write is in
 * flight go out together in the next one. `flushLogger` writes out what is buffered, and pino
 * flushes it on process exit too.
 */
export function logDestination(dest: number | string): DestinationStream {
  return pino.destination({ dest, sync: false });
}

/** Writes out every log line buffered so far (call it last when shutting down). */
export async function flushLogger(logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { flushSync?: () => void } | undefined;
  try {
    stream?.flushSync?.();
  } catch {
    // Not opened yet or already closed: nothing buffered can be written, and pino's exit
    // handler flushes whatever remains.
  }
}
