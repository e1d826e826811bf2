import { InvalidArgumentError, Option, type Command } from "commander";
import { roles, type CreatedKey, type KeyView } from "../auth/index.ts";
import { connectAuth } from "../client/index.ts";
import { durationMs, urlOption } from "./options.ts";
import { json, processIo, shortTime, table, type CommandIo } from "./output.ts";

/**
 * `keel keys create|ls|revoke|rotate`: API keys on a running server, with the key in
 * KEEL_API_KEY. A new key is printed once, on stdout alone, so it can be piped into a secret
 * store; the server keeps only its hash.
 */
export function registerKeyCommands(program: Command, io: CommandIo = processIo): void {
  const keys = program.command("keys").description("create, list, revoke and rotate API keys");

  keys
    .command("create")
    .description("create an API key (printed once)")
    .requiredOption("--name <name>", "what the key is for")
    .addOption(
      new Option("--role <role>", "what the key may do").choices(roles).makeOptionMandatory(),
    )
    .option("--project <id>", "the key's project (default: yours; owners: none = a global key)")
    .option("--model <model...>", "limit the key to these models")
    .option("--expires <time>", "expiry: ISO-8601, or a time from now like 30d, 12h", parseExpiry)
    .option("--json", "print the key and its details as JSON")
    .addOption(urlOption())
    .action(async (opts: CreateOptions) => {
      const created = await connectAuth(opts.url, io.env).createKey({
        name: opts.name,
        role: opts.role,
        ...(opts.project === undefined ? {} : { project_id: opts.project }),
        ...(opts.model === undefined ? {} : { models: opts.model }),
        ...(opts.expires === undefined ? {} : { expires_at: opts.expires }),
      });
      printCreated(created, opts.json === true, io);
    });

  keys
    .command("ls")
    .description("list API keys (prefixes only)")
    .option("--project <id>", "only this project's keys")
    .option("--all", "include revoked keys")
    .option("--json", "print the list as JSON")
    .addOption(urlOption())
    .action(async (opts: { project?: string; all?: boolean; json?: boolean; url?: string }) => {
      const list = await connectAuth(opts.url, io.env).listKeys({
        ...(opts.project === undefined ? {} : { project_id: opts.project }),
        include_revoked: opts.all === true,
      });
      if (opts.json) {
        io.stdout.write(json({ data: list }));
      } else if (list.length === 0) {
        io.stderr.write("no keys\n");
      } else {
        io.stdout.write(table(keyHeaders, list.map(keyRow)));
      }
    });

  keys
    .command("revoke")
    .description("revoke an API key at once")
    .argument("<id>", "key id (key_…)")
    .addOption(urlOption())
    .action(async (id: string, opts: { url?: string }) => {
      const key = await connectAuth(opts.url, io.env).revokeKey(id);
      io.stderr.write(`revoked ${key.id} (${key.prefix}…, ${key.name})\n`);
    });

  keys
    .command("rotate")
    .description("replace an API key by a new one (printed once)")
    .argument("<id>", "key id (key_…)")
    .option(
      "--grace <time>",
      "keep the old key working this long: 90s, 15m, 2h, 1d (default: revoke it now)",
      parseGrace,
    )
    .option("--json", "print the new key and its details as JSON")
    .addOption(urlOption())
    .action(async (id: string, opts: { grace?: number; json?: boolean; url?: string }) => {
      const created = await connectAuth(opts.url, io.env).rotateKey(
        id,
        opts.grace === undefined ? {} : { grace_seconds: opts.grace },
      );
      printCreated(created, opts.json === true, io);
    });
}

interface CreateOptions {
  name: string;
  role: string;
  project?: string;
  model?: string[];
  expires?: string;
  json?: boolean;
  url?: string;
}

function printCreated(created: CreatedKey, asJson: boolean, io: CommandIo): void {
  if (asJson) {
    io.stdout.write(json(created));
    return;
  }
  io.stdout.write(`${created.key}\n`);
  const scope = created.project_id ?? "global";
  io.stderr.write(
    `created ${created.id} (${created.role}, ${scope}${created.rotated_from === null ? "" : `, replaces ${created.rotated_from}`}): ` +
      "this is the only time the key is shown; store it now\n",
  );
}

const keyHeaders = [
  "ID",
  "PREFIX",
  "NAME",
  "ROLE",
  "PROJECT",
  "STATUS",
  "EXPIRES (UTC)",
  "LAST USED",
];

function keyRow(k: KeyView): string[] {
  return [
    k.id,
    `${k.prefix}…`,
    k.name,
    k.role,
    k.project_id ?? "global",
    k.status,
    shortTime(k.expires_at),
    shortTime(k.last_used_at),
  ];
}

/** `30d` → the ISO time 30 days from now; anything else goes to the server as is. */
function parseExpiry(value: string): string {
  const ms = durationMs(value);
  return ms === undefined ? value : new Date(Date.now() + ms).toISOString();
}

function parseGrace(value: string): number {
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : durationMs(value);
  if (ms === undefined) {
    throw new InvalidArgumentError("expected a duration like 90s, 15m, 2h or 1d");
  }
  return ms / 1000;
}
