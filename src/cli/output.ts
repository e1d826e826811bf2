import { DEFAULT_CLIENT_URL, type Env } from "../core/config.ts";

/** What the CLI's client commands print with, shared so every command reads alike. */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Where KEEL_URL and KEEL_API_KEY come from; the process environment by default. */
  env?: Env;
}

export const processIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };

/** The `--url` help of every command that talks to a running server. */
export const serverUrlHelp = `Keel server (else env KEEL_URL, else ${DEFAULT_CLIENT_URL}); the API key comes from env KEEL_API_KEY`;

/** Pretty JSON and a newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** An ISO time as `YYYY-MM-DD HH:MM:SS` (UTC), or `-` for none. */
export function shortTime(iso: string | null): string {
  return iso === null ? "-" : iso.slice(0, 19).replace("T", " ");
}

/** A fixed-width table: a header line, then one line a row. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line), ""].join("\n");
}
