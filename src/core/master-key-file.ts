import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { generateMasterKeyBytes, type MasterKey } from "./crypto.ts";
import { KeelError } from "./errors.ts";
import { Keyring, parseMasterKey } from "./keyring.ts";
import type { Secret } from "./secret.ts";

/**
 * Where the master key comes from: a value from the environment (`KEEL_MASTER_KEY`, passed in
 * by the caller) or, without one, the key file `<dataDir>/master.key`, generated on first
 * start with mode 0600. A key file that group or others can read stops the start.
 *
 * A rotation with key files stages the new key as `master.key.next`, re-encrypts every row
 * under it, then makes it `master.key` and keeps the old one as `master.key.previous`. Every
 * step can be repeated after an interruption, and each file stays loadable throughout, so a
 * server that started before the rotation still opens rows sealed by the new key.
 */

export const KEY_FILE = "master.key";
export const NEXT_KEY_FILE = "master.key.next";
export const PREVIOUS_KEY_FILE = "master.key.previous";

export interface LoadKeyringOptions {
  dataDir: string;
  /** The environment's master key; when given, no key file is read or written. */
  masterKey?: Secret | undefined;
  /** Older environment keys that still open values sealed before a rotation. */
  previousKeys?: readonly Secret[] | undefined;
}

export function loadKeyring(options: LoadKeyringOptions): Keyring {
  if (options.masterKey !== undefined) {
    const primary = parseMasterKey(options.masterKey, "KEEL_MASTER_KEY");
    const previous = (options.previousKeys ?? []).map((key, i) =>
      parseMasterKey(key, `previous master key #${i + 1}`),
    );
    return new Keyring(primary, previous);
  }
  const primary = readOrCreateKeyFile(options.dataDir);
  const others = optionalKeyFiles(options.dataDir, [NEXT_KEY_FILE, PREVIOUS_KEY_FILE]);
  return new Keyring(primary, others, (keyId) => findKeyFile(options.dataDir, keyId));
}

/**
 * First step of a key-file rotation: creates `master.key.next` unless an interrupted run left
 * one, and returns a keyring whose primary is that new key and which still opens the old.
 */
export function stageKeyFileRotation(dataDir: string): Keyring {
  const current = readOrCreateKeyFile(dataDir);
  const nextPath = join(dataDir, NEXT_KEY_FILE);
  if (!existsSync(nextPath)) writeNewKeyFile(nextPath);
  const next = readKeyFile(nextPath);
  return new Keyring(next, [current, ...optionalKeyFiles(dataDir, [PREVIOUS_KEY_FILE])]);
}

/**
 * Last step, once every row is under the new key: the old key becomes `master.key.previous`
 * and the new one `master.key`. Does nothing when no rotation is staged.
 */
export function completeKeyFileRotation(dataDir: string): void {
  const nextPath = join(dataDir, NEXT_KEY_FILE);
  if (!existsSync(nextPath)) return;
  readKeyFile(nextPath);
  const currentPath = join(dataDir, KEY_FILE);
  readKeyFile(currentPath);
  writePrivateFile(join(dataDir, PREVIOUS_KEY_FILE), readFileSync(currentPath, "utf8"), "replace");
  renameSync(nextPath, currentPath);
}

function readOrCreateKeyFile(dataDir: string): MasterKey {
  const path = join(dataDir, KEY_FILE);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeNewKeyFile(path);
  }
  return readKeyFile(path);
}

function optionalKeyFiles(dataDir: string, names: readonly string[]): MasterKey[] {
  return names
    .map((name) => join(dataDir, name))
    .filter((path) => existsSync(path))
    .map(readKeyFile);
}

function findKeyFile(dataDir: string, keyId: string): MasterKey | undefined {
  return optionalKeyFiles(dataDir, [KEY_FILE, NEXT_KEY_FILE, PREVIOUS_KEY_FILE]).find(
    (key) => key.id === keyId,
  );
}

/** Reads a key file, refusing one that is not private to its owner. */
export function readKeyFile(path: string): MasterKey {
  const stat = statSync(path);
  if (!stat.isFile()) {
    throw new KeelError("config_invalid", `master key file ${path} is not a regular file`);
  }
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
    throw new KeelError(
      "config_invalid",
      `master key file ${path} can be read by group or others (mode ${mode}); ` +
        `restrict it with \`chmod 600 ${path}\``,
    );
  }
  return parseMasterKey(readFileSync(path, "utf8"), `master key file ${path}`);
}

function writeNewKeyFile(path: string): void {
  writePrivateFile(path, `${generateMasterKeyBytes().toString("base64")}\n`, "create");
}

/**
 * Writes a whole file with mode 0600 or not at all: the contents go to a fresh temporary file
 * that is then linked into place (`create`: another process that got there first wins) or
 * renamed over the target (`replace`). A crash never leaves a half-written key file.
 */
function writePrivateFile(path: string, contents: string, mode: "create" | "replace"): void {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (mode === "replace") {
      renameSync(tmp, path);
      return;
    }
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}
