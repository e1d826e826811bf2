import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Option, type Command } from "commander";
import type { AuditEntry, AuditVerifyResult } from "../audit/index.ts";
import { connectAudit } from "../client/index.ts";
import type { Env } from "../core/config.ts";
import { KeelError } from "../core/errors.ts";
import { intInRange, parseTimeOption, urlOption } from "./options.ts";
import { json, shortTime, table } from "./output.ts";

/**
 * `keel audit verify | ls | export`: read the audit log of a running server over HTTP.
 * `verify` exits 1 and names the first bad entry when the chain is broken.
 */
export interface AuditCommandOptions {
  /** Where output goes (standard output by default). */
  out?: NodeJS.WritableStream;
  /** Where KEEL_URL and KEEL_API_KEY come from; the process environment by default. */
  env?: Env;
}

export function registerAuditCommands(program: Command, options: AuditCommandOptions = {}): void {
  const out = options.out ?? process.stdout;
  const client = (url: string | undefined) => connectAudit(url, options.env);

  const audit = program.command("audit").description("verify, list and export the audit log");

  audit
    .command("verify")
    .description("walk the hash chain and name the first altered, deleted or reordered entry")
    .option("--json", "print the result as JSON")
    .addOption(urlOption())
    .action(async (opts: { json?: boolean; url?: string }) => {
      const result = await client(opts.url).verify();
      out.write(opts.json ? json(result) : verifyReport(result));
      if (result.first_bad !== undefined) {
        throw new KeelError(
          "conflict",
          `audit log verification failed: ${result.first_bad.message}`,
        );
      }
    });

  audit
    .command("ls")
    .description("list audit entries, newest first")
    .option("--action <action>", "only this action (keys.create, model.invoke…)")
    .option("--actor <key-id>", "only entries by this API key id")
    .option("--project <project-id>", "only entries of this project")
    .option("--since <time>", "at or after: ISO-8601 or an age like 15m, 2h, 7d", parseTimeOption)
    .option("--until <time>", "at or before: ISO-8601 or an age like 15m, 2h, 7d", parseTimeOption)
    .option("--limit <n>", "entries per page, 1 to 500 (default 50)", intInRange(1, 500))
    .option("--cursor <cursor>", "continue from the page that printed this cursor")
    .option("--json", "print the page as JSON ({data, next_cursor})")
    .addOption(urlOption())
    .action(async (opts: LsOptions) => {
      const page = await client(opts.url).list({
        action: opts.action,
        actor_key_id: opts.actor,
        project_id: opts.project,
        since: opts.since,
        until: opts.until,
        limit: opts.limit,
        cursor: opts.cursor,
      });
      if (opts.json) {
        out.write(json(page));
        return;
      }
      out.write(page.data.length === 0 ? "no audit entries match\n" : entryTable(page.data));
      if (page.next_cursor !== null)
        out.write(`more: keel audit ls --cursor ${page.next_cursor}\n`);
    });

  audit
    .command("export")
    .description("stream the audit log, oldest first, one JSON entry a line")
    .addOption(new Option("--format <format>", "output format").choices(["jsonl"]).default("jsonl"))
    .option("--output <file>", "write to this file instead of standard output")
    .addOption(urlOption())
    .action(async (opts: { format: string; output?: string; url?: string }) => {
      const lines = await client(opts.url).exportLines();
      const target = opts.output === undefined ? out : createWriteStream(opts.output);
      await pipeline(lines, target, { end: opts.output !== undefined });
    });
}

interface LsOptions {
  action?: string;
  actor?: string;
  project?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
  json?: boolean;
  url?: string;
}

function verifyReport(result: AuditVerifyResult): string {
  const lines = [
    result.ok
      ? `audit log ok: ${result.entries} entries, chain intact`
      : `audit log BROKEN: ${result.entries} entries walked`,
  ];
  if (result.first_bad !== undefined) {
    const bad = result.first_bad;
    lines.push(`first bad entry: seq ${bad.seq} (${bad.id}), ${bad.reason}`, `  ${bad.message}`);
  }
  if (result.head !== null) lines.push(`head: seq ${result.head.seq}, hash ${result.head.hash}`);
  return `${lines.join("\n")}\n`;
}

const headers = ["SEQ", "TIME (UTC)", "ACTION", "OUTCOME", "ACTOR", "RESOURCE", "FROM"];

function entryTable(entries: readonly AuditEntry[]): string {
  return table(
    headers,
    entries.map((e) => [
      String(e.seq),
      shortTime(e.created_at),
      e.action,
      e.outcome + (e.status_code === null ? "" : ` ${e.status_code}`),
      e.actor_key_id ?? "-",
      [e.resource_type, e.resource_id].filter(Boolean).join(" ") || "-",
      e.ip ?? "-",
    ]),
  );
}
