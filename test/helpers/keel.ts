import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKeel, type Keel } from "../../src/app.ts";
import { generateKey } from "../../src/auth/index.ts";
import { parseConfig, type Env } from "../../src/core/config.ts";
import { createLogger, type Logger } from "../../src/core/logger.ts";

export interface RunningKeel {
  keel: Keel;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The global owner key this Keel was started with (KEEL_ADMIN_KEY). */
  apiKey: string;
  /** `{ authorization: "Bearer <apiKey>" }`, for raw HTTP requests. */
  headers: { authorization: string };
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts a real Keel listening on 127.0.0.1 with a random port, a temporary data dir and the
 * given config document (the parsed form of keel.config.yaml), and a fresh global owner key
 * (`apiKey`) unless the env names one in KEEL_ADMIN_KEY. Logs are silent unless
 * KEEL_TEST_LOG_LEVEL is set or `options.logger` is given (to capture them).
 */
export async function startKeel(
  doc: Record<string, unknown> = {},
  options: { env?: Env; dataDir?: string; logger?: Logger } = {},
): Promise<RunningKeel> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "keel-test-"));
  const server = { ...((doc.server as object | undefined) ?? {}), port: 0, data_dir: dataDir };
  const env = { KEEL_ADMIN_KEY: generateKey(), ...options.env };
  const apiKey = env.KEEL_ADMIN_KEY;
  const config = parseConfig({ ...doc, server }, { env, source: undefined, overrides: {} });
  const logger = options.logger ?? createLogger(process.env.KEEL_TEST_LOG_LEVEL ?? "silent");
  const keel = await createKeel(config, { logger });
  const url = await keel.listen();
  return {
    keel,
    url,
    apiKey,
    headers: { authorization: `Bearer ${apiKey}` },
    dataDir,
    close: async () => {
      await keel.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
