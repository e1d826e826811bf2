import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Credentials are redacted by path as a second line of defence; the
 * first is that secrets are `Secret` objects that render as `[redacted]`.
 *
 * Without a destination, lines go to stdout asynchronously (a synchronous write per line
 * costs the request path several µs); `flushLogger` writes out what is buffered, and pino
 * flushes it on process exit too.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "keel" },
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers['x-api-key']",
          "req.headers['api-key']",
          "headers.authorization",
          "headers['x-api-key']",
          "*.api_key",
          "*.apiKey",
        ],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
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
