import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/keel.js", import.meta.url));

export interface CliResult {
  /** The exit code; null when the process was killed (by the 30 s limit). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `keel …` as a child process with only PATH and `env` in its environment. Asynchronous,
 * so a Keel server started by the same test keeps answering while the command runs.
 */
export function runKeel(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
