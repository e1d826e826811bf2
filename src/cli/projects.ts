import type { Command } from "commander";
import { createAuthClient, type AuthClient, type Project } from "../auth/index.ts";
import { clientSettings, type Env } from "../core/config.ts";

/**
 * `keel projects create|ls|show`: manage projects (tenants) on a running server, with the key
 * in KEEL_API_KEY (creating one needs a global owner key).
 */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Where KEEL_URL and KEEL_API_KEY come from; the process environment by default. */
  env?: Env;
}

const processIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };

export const serverUrlHelp = "Keel server (env KEEL_URL, default http://127.0.0.1:4141)";

/** The auth API client for `--url` (or KEEL_URL) and KEEL_API_KEY. */
export function authClientFor(url: string | undefined, io: CommandIo): AuthClient {
  const settings = io.env === undefined ? clientSettings() : clientSettings(io.env);
  return createAuthClient({ baseUrl: url ?? settings.url, apiKey: settings.apiKey });
}

export function registerProjectCommands(program: Command, io: CommandIo = processIo): void {
  const projects = program.command("projects").description("manage projects (tenants)");

  projects
    .command("create")
    .description("create a project (needs a global owner key)")
    .argument("<name>", "unique name: letters, digits, '.', '_' or '-'")
    .option("--json", "print the project as JSON")
    .option("--url <url>", serverUrlHelp)
    .action(async (name: string, opts: { json?: boolean; url?: string }) => {
      const project = await authClientFor(opts.url, io).createProject({ name });
      io.stdout.write(opts.json ? json(project) : `${project.id}  ${project.name}\n`);
    });

  projects
    .command("ls")
    .description("list the projects this key can see")
    .option("--json", "print the list as JSON")
    .option("--url <url>", serverUrlHelp)
    .action(async (opts: { json?: boolean; url?: string }) => {
      const list = await authClientFor(opts.url, io).listProjects();
      if (opts.json) {
        io.stdout.write(json({ data: list }));
      } else if (list.length === 0) {
        io.stderr.write("no projects\n");
      } else {
        io.stdout.write(table(["ID", "NAME", "CREATED (UTC)"], list.map(projectRow)));
      }
    });

  projects
    .command("show")
    .description("show one project")
    .argument("<id>", "project id (prj_…)")
    .option("--json", "print the project as JSON")
    .option("--url <url>", serverUrlHelp)
    .action(async (id: string, opts: { json?: boolean; url?: string }) => {
      const project = await authClientFor(opts.url, io).getProject(id);
      io.stdout.write(
        opts.json
          ? json(project)
          : table(["ID", "NAME", "CREATED (UTC)"], [projectRow(project)]) +
              (project.limits === null ? "" : `limits  ${JSON.stringify(project.limits)}\n`),
      );
    });
}

function projectRow(p: Project): string[] {
  return [p.id, p.name, shortTime(p.created_at)];
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

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
