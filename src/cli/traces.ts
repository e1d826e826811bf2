import { Option, type Command } from "commander";
import { connect } from "../client/index.ts";
import type { TraceDetail, TraceSummary } from "../traces/index.ts";
import { intInRange, parseTimeOption, urlOption } from "./options.ts";
import { json, shortTime, table } from "./output.ts";

/** `keel traces ls` and `keel traces show`: read traces from a running server. */
export function registerTraceCommands(program: Command): void {
  const traces = program.command("traces").description("list and inspect request traces");

  traces
    .command("ls")
    .description("list traces, newest first")
    .option("--model <model>", "only this public model")
    .addOption(new Option("--status <status>", "only ok or error traces").choices(["ok", "error"]))
    .option(
      "--since <time>",
      "started at or after: ISO-8601, epoch ms, or an age like 15m, 2h, 7d",
      parseTimeOption,
    )
    .option("--limit <n>", "traces per page, 1 to 200 (default 50)", intInRange(1, 200))
    .option("--cursor <cursor>", "continue from the page that printed this cursor")
    .option("--json", "print the page as JSON ({data, next_cursor})")
    .addOption(urlOption())
    .action(async (opts: LsOptions) => {
      const page = await connect(opts.url).listTraces({
        model: opts.model,
        status: opts.status,
        since: opts.since,
        limit: opts.limit,
        cursor: opts.cursor,
      });
      if (opts.json) {
        process.stdout.write(json(page));
        return;
      }
      if (page.data.length === 0) {
        process.stderr.write("no traces match\n");
        return;
      }
      process.stdout.write(traceTable(page.data));
      if (page.next_cursor !== null) {
        process.stderr.write(`more: keel traces ls --cursor ${page.next_cursor}\n`);
      }
    });

  traces
    .command("show")
    .description("show one trace with its attempts and bodies")
    .argument("<id>", "trace id (trc_…)")
    .option("--json", "print the trace as JSON")
    .addOption(urlOption())
    .action(async (id: string, opts: { json?: boolean; url?: string }) => {
      const trace = await connect(opts.url).getTrace(id);
      process.stdout.write(opts.json ? json(trace) : traceReport(trace));
    });
}

interface LsOptions {
  model?: string;
  status?: "ok" | "error";
  since?: string;
  limit?: number;
  cursor?: string;
  json?: boolean;
  url?: string;
}

const headers = ["ID", "TIME (UTC)", "MODEL", "STATUS", "LATENCY", "TOKENS", "COST"];

/** One line a trace. */
function traceTable(traces: readonly TraceSummary[]): string {
  return table(
    headers,
    traces.map((t) => [
      t.id,
      shortTime(t.started_at),
      t.model,
      t.status === "ok" ? "ok" : (t.error_code ?? "error"),
      `${t.latency_ms} ms`,
      tokens(t),
      dollars(t.cost_usd),
    ]),
  );
}

/** A trace for people: facts first, then attempts, then the bodies. */
function traceReport(t: TraceDetail): string {
  const facts: [string, string][] = [
    ["id", t.id],
    ["status", `${t.status} (HTTP ${t.http_status})`],
    ["model", `${t.model} (${t.endpoint}${t.stream ? ", streamed" : ""})`],
    ["started", t.started_at],
    ["latency", `${t.latency_ms} ms${t.ttft_ms === null ? "" : `, first token ${t.ttft_ms} ms`}`],
    ["tokens", `${tokens(t)} (prompt+completion${t.tokens_estimated ? ", counted by Keel" : ""})`],
    ["cost", `${dollars(t.cost_usd)} (${t.cost_micros} micro-USD)`],
    ["request id", t.request_id],
  ];
  if (t.project_id !== null) facts.push(["project", t.project_id]);
  if (t.finish_reason !== null) facts.push(["finish", t.finish_reason]);
  if (t.error_code !== null || t.error_message !== null) {
    facts.push(["error", [t.error_code, t.error_message].filter((s) => s !== null).join(": ")]);
  }
  const width = Math.max(...facts.map(([k]) => k.length));
  const out = facts.map(([k, v]) => `${k.padEnd(width)}  ${v}`);

  out.push("", `attempts (${t.attempts.length})`);
  t.attempts.forEach((a, i) => {
    const status = a.http_status === undefined ? "" : ` HTTP ${a.http_status}`;
    const error =
      a.error_message === undefined ? "" : ` — ${a.error_code ?? "error"}: ${a.error_message}`;
    out.push(`  ${i + 1}. ${a.deployment}  ${a.outcome}${status}  ${a.latency_ms} ms${error}`);
  });
  for (const [title, value] of [
    ["request body", t.request_body],
    ["response body", t.response_body],
  ] as const) {
    out.push("", title);
    out.push(value === null || value === undefined ? "  (not stored)" : indent(value));
  }
  if (Object.keys(t.metadata).length > 0) out.push("", "metadata", indent(t.metadata));
  return `${out.join("\n")}\n`;
}

function indent(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

function tokens(t: TraceSummary): string {
  return `${t.tokens_estimated ? "~" : ""}${t.prompt_tokens}+${t.completion_tokens}`;
}

function dollars(usd: number): string {
  return `$${usd.toFixed(6)}`;
}
