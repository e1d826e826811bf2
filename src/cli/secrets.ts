import type { Command } from "commander";
import {
  dataDir,
  loadConfig,
  secretFromEnvironment,
  type Config,
  type Env,
} from "../core/config.ts";
import { openDatabase } from "../core/db/database.ts";
import { KeelError } from "../core/errors.ts";
import {
  countEncryptedValues,
  rotateMasterKey,
  type EncryptedColumn,
  type RotationResult,
} from "../core/key-rotation.ts";
import { Keyring, parseMasterKey } from "../core/keyring.ts";
import { completeKeyFileRotation, stageKeyFileRotation } from "../core/master-key-file.ts";
import { traceBodyColumns } from "../traces/index.ts";
import { parsePositiveInt } from "./options.ts";

/**
 * `keel secrets rotate-master-key`: re-encrypts every encrypted column under a new master key,
 * working on the database directly, beside running servers. Every column Keel encrypts is
 * listed in `encryptedColumns`; a domain that adds one exports it from its index and it is
 * added there.
 */
export const encryptedColumns: readonly EncryptedColumn[] = [...traceBodyColumns];

export interface SecretCommandDeps {
  env: Env;
  /** Progress and the closing instructions; never a key. */
  stderr: { write(text: string): unknown };
}

interface RotateOptions {
  dataDir?: string;
  config?: string;
  newKeyEnv?: string;
  batchSize: number;
  maxRows?: number;
}

const HELP = `
With the key file (no KEEL_MASTER_KEY): a new key is staged as <data dir>/master.key.next,
every encrypted value is re-encrypted under it in batches, then it becomes master.key and the
old key is kept as master.key.previous. Servers that are running keep working throughout:
they load master.key.next and master.key.previous when they meet a value sealed by either.
Afterwards restart every server (they then seal new values with the new key); keep
master.key.previous until the next rotation, which re-encrypts anything still under it.

With KEEL_MASTER_KEY: pass --new-key-env NAME, the name of a variable that holds the new key
(never the key itself on the command line). Afterwards set KEEL_MASTER_KEY to the new key and
KEEL_MASTER_KEY_PREVIOUS to the old one on every server and restart them, run this command
once more with --new-key-env KEEL_MASTER_KEY (it re-encrypts what servers still holding the
old key wrote meanwhile), then drop KEEL_MASTER_KEY_PREVIOUS.

Interrupted (Ctrl-C, a crash, --max-rows)? Run the same command again: it continues after the
last committed batch; values already under the new key are skipped and none is lost.
`;

export function registerSecretCommands(
  program: Command,
  deps: SecretCommandDeps = { env: process.env, stderr: process.stderr },
): void {
  const secrets = program.command("secrets").description("master key and encrypted values");
  secrets
    .command("rotate-master-key")
    .description("re-encrypt every stored secret and encrypted trace body under a new master key")
    .option("--data-dir <dir>", "where SQLite and the key files live (env KEEL_DATA_DIR)")
    .option("--config <file>", "keel.config.yaml (env KEEL_CONFIG)")
    .option("--new-key-env <name>", "with KEEL_MASTER_KEY: the variable holding the new key")
    .option("--batch-size <n>", "values re-encrypted per transaction", parsePositiveInt, 200)
    .option(
      "--max-rows <n>",
      "stop after about this many values; rerun to continue",
      parsePositiveInt,
    )
    .addHelpText("after", HELP)
    .action((opts: RotateOptions) => rotate(opts, deps));
}

async function rotate(opts: RotateOptions, deps: SecretCommandDeps): Promise<void> {
  const config = loadConfig({
    path: opts.config,
    env: deps.env,
    overrides: opts.dataDir === undefined ? {} : { dataDir: opts.dataDir },
  });
  const dir = dataDir(config);
  const fromEnv = config.masterKey !== undefined;
  const keyring = fromEnv ? envKeyring(opts, config, deps.env) : fileKeyring(opts, dir);

  const database = await openDatabase({ url: config.database.url, dataDir: dir });
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once("SIGINT", onSigint);
  let result: RotationResult;
  try {
    const total = await countEncryptedValues(database.db, encryptedColumns);
    deps.stderr.write(
      `keel: re-encrypting ${total} values under master key ${keyring.primaryId}\n`,
    );
    let batches = 0;
    result = await rotateMasterKey({
      db: database.db,
      keyring,
      columns: encryptedColumns,
      batchSize: opts.batchSize,
      signal: stop.signal,
      onBatch: (progress) => {
        batches++;
        const done = progress.rotated + progress.skipped;
        deps.stderr.write(`keel: ${Math.min(done, total)}/${total}\n`);
        if (opts.maxRows !== undefined && batches * opts.batchSize >= opts.maxRows) stop.abort();
      },
    });
  } finally {
    process.off("SIGINT", onSigint);
    await database.close();
  }

  if (!result.complete) {
    throw new KeelError(
      "conflict",
      `rotation paused after ${result.rotated + result.skipped} values: run the same command ` +
        "again to continue where it stopped",
    );
  }
  const counts = `${result.rotated} re-encrypted, ${result.skipped} already under it`;
  if (fromEnv) {
    deps.stderr.write(
      `keel: done — every value is under master key ${result.keyId} (${counts}).\n` +
        `Now set KEEL_MASTER_KEY to the value of ${opts.newKeyEnv ?? ""} and ` +
        "KEEL_MASTER_KEY_PREVIOUS to the old key on every server and restart them; then run " +
        "this command again with --new-key-env KEEL_MASTER_KEY, and drop " +
        "KEEL_MASTER_KEY_PREVIOUS.\n",
    );
    return;
  }
  completeKeyFileRotation(dir);
  deps.stderr.write(
    `keel: done — master.key is now key ${result.keyId} (${counts}); the old key is kept as ` +
      "master.key.previous. Restart every server so new values are sealed with the new key.\n",
  );
}

/** KEEL_MASTER_KEY is the current key; the new one comes from the variable --new-key-env names. */
function envKeyring(opts: RotateOptions, config: Config, env: Env): Keyring {
  if (opts.newKeyEnv === undefined) {
    throw new KeelError(
      "invalid_request",
      "KEEL_MASTER_KEY is set: pass --new-key-env NAME, the name of a variable that holds the " +
        "new key (generate one with `openssl rand -base64 32`)",
    );
  }
  const next = secretFromEnvironment(opts.newKeyEnv, env);
  if (next === undefined) {
    throw new KeelError(
      "invalid_request",
      `--new-key-env names ${opts.newKeyEnv}, which is not set or empty`,
    );
  }
  const held = [config.masterKey, config.previousMasterKey].flatMap((key, i) =>
    key === undefined
      ? []
      : [parseMasterKey(key, i === 0 ? "KEEL_MASTER_KEY" : "KEEL_MASTER_KEY_PREVIOUS")],
  );
  return new Keyring(parseMasterKey(next, opts.newKeyEnv), held);
}

function fileKeyring(opts: RotateOptions, dir: string): Keyring {
  if (opts.newKeyEnv !== undefined) {
    throw new KeelError(
      "invalid_request",
      "--new-key-env is for a master key in KEEL_MASTER_KEY; with the key file in the data " +
        "dir Keel generates the new key itself",
    );
  }
  return stageKeyFileRotation(dir);
}
