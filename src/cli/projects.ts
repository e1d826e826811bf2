import type { Command } from "commander";
import type { Project } from "../auth/index.ts";
import { connectAuth } from "../client/index.ts";
import { urlOption } from "./options.ts";
import { json, processIo, shortTime, table, type CommandIo } from "./output.ts";

/**
 * `keel projects create|ls|show`: manage projects (tenants) on a running server, with the key
 * in KEEL_API_KEY (creating one needs a global owner key).
 */
export function registerProjectCommands(program: Command, io: CommandIo = processIo): void {
  const projects = program.command("projects").description("manage projects (tenants)");

  projects
    .command("create")
    .description("create a project (needs a global owner key)")
    .argument("<name>", "unique name: letters, digits, '.', '_' or '-'")
    .option("--json", "print the project as JSON")
    .addOption(urlOption())
    .action(async (name: string, opts: { json?: boolean; url?: string }) => {
      const project = await connectAuth(opts.url, io.env).createProject({ name });
      io.stdout.write(opts.json ? json(project) : `${project.id}  ${project.name}\n`);
    });

  projects
    .command("ls")
    .description("list the projects this key can see")
    .option("--json", "print the list as JSON")
    .addOption(urlOption())
    .action(async (opts: { json?: boolean; url?: string }) => {
      const list = await connectAuth(opts.url, io.env).listProjects();
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
    .addOption(urlOption())
    .action(async (id: string, opts: { json?: boolean; url?: string }) => {
      const project = await connectAuth(opts.url, io.env).getProject(id);
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
