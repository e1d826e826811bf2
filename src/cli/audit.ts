import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError, Option, type Command } from "commander";
import { request } from "undici";
import type { z } from "zod";
import {
  auditPageSchema,
  auditVerifyResultSchema,
  type AuditEntry,
  type AuditVerifyResult,
} from "../audit/index.ts";
import { errorCatalog, KeelError, type ErrorCode } from "../core/errors.ts";
import type { Secret } from "../core/secret.ts";

/**
 * `keel audit verify | ls | export`: read the audit log of a running server over HTTP.
 * `verify` exits 1 and names the first bad entry when the chain is broken.
 */
export interface AuditCommandOptions {
  /** Where output goes (standard output by default). */
  out?: NodeJS.WritableStream;
  /** Base URL when --url is not given. */
  defaultUrl?: string;
  apiKey?: Secret | undefined;
}

export const DEFAULT_SERVER_URL = "http://127.0.0.1:4141";

export function registerAuditCommands(program: Command, options: AuditCommandOptions = {}): void {
  const out = options.out ?? process.stdout;
  const http = (url: string | undefined) =>
    createAuditHttp(url ?? options.defaultUrl ?? DEFAULT_SERVER_URL, options.apiKey);
  const urlOption = () =>
    new Option("--url <url>", `Keel server (default ${DEFAULT_SERVER_URL})`).argParser(parseUrl);

  const audit = program.command("audit").description("verify, list and export the audit log");

  audit
    .command("verify")
    .description("walk the hash chain and name the first altered, deleted or reordered entry")
    .option("--json", "print the result as JSON")
    .addOption(urlOption())
    .action(async (opts: { json?: boolean; url?: string }) => {
      const result = await http(opts.url).getJson(auditVerifyResultSchema, "/api/audit/verify");
      out.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : verifyReport(result));
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
    .option("--since <time>", "at or after: ISO-8601 or an age like 15m, 2h, 7d", parseTime)
    .option("--until <time>", "at or before: ISO-8601 or an age like 15m, 2h, 7d", parseTime)
    .option("--limit <n>", "entries per page, 1 to 500 (default 50)", parseLimit)
    .option("--cursor <cursor>", "continue from the page that printed this cursor")
    .option("--json", "print the page as JSON ({data, next_cursor})")
    .addOption(urlOption())
    .action(async (opts: LsOptions) => {
      const query = definedOnly({
        action: opts.action,
        actor_key_id: opts.actor,
        project_id: opts.project,
        since: opts.since,
        until: opts.until,
        limit: opts.limit === undefined ? undefined : String(opts.limit),
        cursor: opts.cursor,
      });
      const page = await http(opts.url).getJson(auditPageSchema, "/api/audit", query);
      if (opts.json) {
        out.write(`${JSON.stringify(page, null, 2)}\n`);
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
      const body = await http(opts.url).getStream("/api/audit/export", { format: opts.format });
      const target = opts.output === undefined ? out : createWriteStream(opts.output);
      await pipeline(body, target, { end: opts.output !== undefined });
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

function createAuditHttp(baseUrl: string, apiKey: Secret | undefined) {
  const headers: Record<string, string> = { accept: "application/json, application/x-ndjson" };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey.reveal()}`;
  const base = baseUrl.replace(/\/+$/, "");

  const get = async (path: string, query: Record<string, string>) => {
    let res;
    try {
      res = await request(`${base}${path}`, { method: "GET", headers, query });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why =
        code === "ECONNREFUSED" ? "connection refused (is keel serve running?)" : String(err);
      throw new KeelError("server_unreachable", `cannot reach Keel at ${base}: ${why}`, {
        cause: err,
      });
    }
    if (res.statusCode >= 300) throw errorFrom(res.statusCode, await res.body.text());
    return res.body;
  };

  return {
    getStream: get,
    async getJson<T extends z.ZodType>(
      schema: T,
      path: string,
      query: Record<string, string> = {},
    ) {
      const text = await (await get(path, query)).text();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        value = undefined;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        throw new KeelError(
          "internal",
          `unexpected answer from ${base}${path}: not an audit result`,
        );
      }
      return parsed.data;
    },
  };
}

/** A server's problem+json as a KeelError with its code and message. */
function errorFrom(status: number, text: string): KeelError {
  let body: { code?: unknown; detail?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not problem+json: fall back to the status
  }
  const code: ErrorCode =
    typeof body.code === "string" && Object.hasOwn(errorCatalog, body.code)
      ? (body.code as ErrorCode)
      : status >= 500
        ? "internal"
        : "invalid_request";
  const detail = typeof body.detail === "string" ? body.detail : `HTTP ${status}`;
  return new KeelError(code, detail, { status });
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

const columns: { title: string; cell: (e: AuditEntry) => string }[] = [
  { title: "SEQ", cell: (e) => String(e.seq) },
  { title: "TIME (UTC)", cell: (e) => e.created_at.slice(0, 19).replace("T", " ") },
  { title: "ACTION", cell: (e) => e.action },
  {
    title: "OUTCOME",
    cell: (e) => e.outcome + (e.status_code === null ? "" : ` ${e.status_code}`),
  },
  { title: "ACTOR", cell: (e) => e.actor_key_id ?? "-" },
  {
    title: "RESOURCE",
    cell: (e) => [e.resource_type, e.resource_id].filter(Boolean).join(" ") || "-",
  },
  { title: "FROM", cell: (e) => e.ip ?? "-" },
];

function entryTable(rows: readonly AuditEntry[]): string {
  const cells = rows.map((row) => columns.map((c) => c.cell(row)));
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...cells.map((line) => line[i]!.length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line), ""].join("\n");
}

function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected a URL such as http://127.0.0.1:4141");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError("expected an http:// or https:// URL");
  }
  return value;
}

const AGE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An age (`15m`) becomes the ISO time that long ago; anything else goes to the server as is. */
function parseTime(value: string): string {
  const age = AGE.exec(value.trim());
  if (age === null) return value;
  const unit = age[2] as keyof typeof UNIT_MS;
  return new Date(Date.now() - Number(age[1]) * UNIT_MS[unit]).toISOString();
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) {
    throw new InvalidArgumentError("expected an integer from 1 to 500");
  }
  return n;
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}
