import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Credentials are redacted by path as a second line of defence; the
 * first is that secrets are `Secret` objects that render as `[redacted]`.
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
    destination,
  );
}
