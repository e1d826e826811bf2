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
 * Where log lines go (a file descriptor or a file path), written asynchronously and in blocks:
 * lines gather until there are BLOCK_BYTES of them, or for FLUSH_MS at most, and go out in one
 * write. A synchronous write per line costs the request path several µs; an asynchronous one
 * per line hands each to libuv's thread pool, and that hand-off (waking a pool thread, and
 * being woken when it is done) cost the event loop ~4.5 µs per request under load, more than
 * anything else Keel does per request. `flushLogger` writes out what is buffered, and pino
 * flushes it on process exit too; a process killed outright loses at most the last block.
 */
export function logDestination(dest: number | string): DestinationStream {
  return pino.destination({
    dest,
    sync: false,
    minLength: BLOCK_BYTES,
    periodicFlush: FLUSH_MS,
  });
}

/** About 25 request lines. */
const BLOCK_BYTES = 4096;
/** How long a line may wait for others to share its write: what `tail -f` can notice. */
const FLUSH_MS = 100;

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
