import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { configFileSchema, type ConfigFile } from "./config-schema.ts";
import { errorMessage, KeelError } from "./errors.ts";
import { Secret } from "./secret.ts";

/**
 * Keel's configuration: `keel.config.yaml` plus `KEEL_*` environment variables, parsed once
 * at start-up into a frozen object that is passed down explicitly. This is the only module
 * that reads the environment. An invalid file stops the start and names the bad field.
 */
export interface Config extends ConfigFile {
  /** The config file this came from, if any. */
  readonly source: string | undefined;
  /** Provider API keys, resolved from the variables named by `api_key_env`. */
  readonly providerKeys: Readonly<Record<string, Secret>>;
  /** KEEL_ADMIN_KEY: the first owner key, stored (hashed) on first start. */
  readonly adminKey: Secret | undefined;
  /** KEEL_MASTER_KEY: the encryption master key; without it, a key file in the data dir. */
  readonly masterKey: Secret | undefined;
  /** KEEL_MASTER_KEY_PREVIOUS: the key before a rotation, still opening older values. */
  readonly previousMasterKey: Secret | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Name of the built-in local chat model served when the config lists no models. */
export const DEFAULT_LOCAL_MODEL = "keel-local";
export const DEFAULT_LOCAL_EMBED_MODEL = "keel-local-embed";

export interface LoadConfigOptions {
  /** Path from `--config`; falls back to KEEL_CONFIG, then to no file. */
  path?: string | undefined;
  env?: Env;
  /** Command-line overrides (highest precedence). */
  overrides?: { port?: number; host?: string; dataDir?: string };
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const path = options.path ?? nonEmpty(env.KEEL_CONFIG);
  const raw = path === undefined ? {} : readConfigFile(path);
  return parseConfig(raw, { env, source: path, overrides: options.overrides ?? {} });
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new KeelError("config_invalid", `cannot read config file ${path}: ${errorMessage(err)}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    const where =
      err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : "";
    throw new KeelError("config_invalid", `${path}${where}: not valid YAML: ${errorMessage(err)}`);
  }
}

interface ParseContext {
  env: Env;
  source: string | undefined;
  overrides: NonNullable<LoadConfigOptions["overrides"]>;
}

/** Validates a parsed config document against the schema and the environment. */
export function parseConfig(raw: unknown, ctx: ParseContext): Config {
  const merged = applyEnv(raw, ctx.env, ctx.overrides);
  const result = configFileSchema.safeParse(merged);
  if (!result.success) throw configError(ctx.source, result.error.issues);
  const file = withDefaultModels(result.data, ctx.env);
  checkReferences(file, ctx.source);
  const providerKeys = resolveProviderKeys(file, ctx.env, ctx.source);
  return deepFreeze({
    ...file,
    source: ctx.source,
    providerKeys,
    adminKey: secretFromEnv(ctx.env, "KEEL_ADMIN_KEY"),
    masterKey: secretFromEnv(ctx.env, "KEEL_MASTER_KEY"),
    previousMasterKey: secretFromEnv(ctx.env, "KEEL_MASTER_KEY_PREVIOUS"),
  });
}

function applyEnv(raw: unknown, env: Env, overrides: ParseContext["overrides"]): unknown {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return raw; // let the schema report it
  }
  const doc = structuredClone(raw) as Record<string, unknown>;
  const server = objectAt(doc, "server");
  setIfDefined(server, "port", overrides.port ?? intFromEnv(env, "KEEL_PORT"));
  setIfDefined(server, "host", overrides.host ?? nonEmpty(env.KEEL_HOST));
  setIfDefined(server, "data_dir", overrides.dataDir ?? nonEmpty(env.KEEL_DATA_DIR));
  setIfDefined(server, "log_level", nonEmpty(env.KEEL_LOG_LEVEL));
  setIfDefined(objectAt(doc, "database"), "url", nonEmpty(env.KEEL_DATABASE_URL));
  setIfDefined(objectAt(doc, "redis"), "url", nonEmpty(env.KEEL_REDIS_URL));
  setIfDefined(objectAt(doc, "traces"), "bodies", nonEmpty(env.KEEL_TRACE_BODIES));
  return doc;
}

/**
 * With no models configured, Keel serves its local model: `keel-local` for chat and
 * completions and `keel-local-embed` for embeddings, from KEEL_LOCAL_MODEL /
 * KEEL_LOCAL_EMBED_MODEL or else the generated tiny model.
 */
function withDefaultModels(file: ConfigFile, env: Env): ConfigFile {
  if (file.models.length > 0) return file;
  const threads = intFromEnv(env, "KEEL_LOCAL_THREADS");
  const chatPath = nonEmpty(env.KEEL_LOCAL_MODEL);
  const embedPath = nonEmpty(env.KEEL_LOCAL_EMBED_MODEL);
  const local = {
    type: "local" as const,
    ...(chatPath === undefined ? {} : { model_path: chatPath }),
    ...(threads === undefined ? {} : { threads }),
    parallel: 2,
    queue_limit: 32,
    embeddings: embedPath === undefined,
  };
  const providers: ConfigFile["providers"] = { ...file.providers, local };
  if (embedPath !== undefined) {
    providers["local-embed"] = { ...local, model_path: embedPath, embeddings: true };
  }
  const model = (name: string, kind: "chat" | "embedding", provider: string, path?: string) =>
    modelDefaults({ name, kind, provider, model: path ?? "keel-tiny" });
  return {
    ...file,
    providers,
    models: [
      model(DEFAULT_LOCAL_MODEL, "chat", "local", chatPath),
      embedPath === undefined
        ? model(DEFAULT_LOCAL_EMBED_MODEL, "embedding", "local", chatPath)
        : model(DEFAULT_LOCAL_EMBED_MODEL, "embedding", "local-embed", embedPath),
    ],
  };
}

function modelDefaults(m: {
  name: string;
  kind: "chat" | "embedding";
  provider: string;
  model: string;
}): ConfigFile["models"][number] {
  const parsed = configFileSchema.shape.models.parse([
    {
      name: m.name,
      kind: m.kind,
      deployments: [{ provider: m.provider, model: m.model, timeout_ms: 300_000 }],
      retry: { max_attempts: 1 },
    },
  ]);
  return parsed[0]!;
}

function checkReferences(file: ConfigFile, source: string | undefined): void {
  const issues: { path: PropertyKey[]; message: string }[] = [];
  const seen = new Set<string>();
  file.models.forEach((model, i) => {
    if (seen.has(model.name)) {
      issues.push({ path: ["models", i, "name"], message: `duplicate model name "${model.name}"` });
    }
    seen.add(model.name);
    model.deployments.forEach((d, j) => {
      if (!(d.provider in file.providers)) {
        const known = Object.keys(file.providers).join(", ") || "none";
        issues.push({
          path: ["models", i, "deployments", j, "provider"],
          message: `unknown provider "${d.provider}" (configured providers: ${known})`,
        });
      }
    });
  });
  if (issues.length > 0) throw configError(source, issues);
}

function resolveProviderKeys(
  file: ConfigFile,
  env: Env,
  source: string | undefined,
): Record<string, Secret> {
  const keys: Record<string, Secret> = {};
  for (const [name, provider] of Object.entries(file.providers)) {
    if (provider.type === "local") continue;
    const variable = provider.api_key_env;
    if (variable === undefined) continue;
    const value = nonEmpty(env[variable]);
    if (value === undefined) {
      // A key that is named but absent would only fail later, on the first request.
      const used = file.models.some((m) => m.deployments.some((d) => d.provider === name));
      if (used && provider.type === "anthropic") {
        throw configError(source, [
          {
            path: ["providers", name, "api_key_env"],
            message: `environment variable ${variable} is not set`,
          },
        ]);
      }
      continue;
    }
    keys[name] = new Secret(value);
  }
  return keys;
}

function configError(
  source: string | undefined,
  issues: readonly { path: readonly PropertyKey[]; message: string }[] | z.core.$ZodIssue[],
): KeelError {
  const lines = issues.map((issue) => {
    const path = issue.path.map(String).join(".") || "(root)";
    return `${path}: ${issue.message}`;
  });
  const where = source === undefined ? "configuration" : source;
  return new KeelError("config_invalid", `${where}: ${lines.join("; ")}`, {
    details: { issues: lines },
  });
}

function objectAt(doc: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = doc[key];
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  if (value === undefined || value === null) {
    const fresh: Record<string, unknown> = {};
    doc[key] = fresh;
    return fresh;
  }
  return {}; // a wrong type; the schema will report it
}

function setIfDefined(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

/**
 * A secret an operator names on the command line by its variable (`--new-key-env NAME`), so
 * the value itself never appears in a shell history or process list.
 */
export function secretFromEnvironment(name: string, env: Env = process.env): Secret | undefined {
  return secretFromEnv(env, name);
}

function secretFromEnv(env: Env, name: string): Secret | undefined {
  const value = nonEmpty(env[name]);
  return value === undefined ? undefined : new Secret(value.trim());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function intFromEnv(env: Env, name: string): number | undefined {
  const value = nonEmpty(env[name]);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) {
    throw new KeelError("config_invalid", `${name}: expected an integer, got "${value}"`);
  }
  return n;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !(value instanceof Secret)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Absolute data directory for a config. */
export function dataDir(config: Config): string {
  return resolve(config.server.data_dir);
}

/** Where `keel` client commands find a running server, from KEEL_URL and KEEL_API_KEY. */
export interface ClientSettings {
  url: string;
  apiKey: Secret | undefined;
}

export const DEFAULT_CLIENT_URL = "http://127.0.0.1:4141";

export function clientSettings(env: Env = process.env): ClientSettings {
  const key = nonEmpty(env.KEEL_API_KEY);
  return {
    url: nonEmpty(env.KEEL_URL) ?? DEFAULT_CLIENT_URL,
    apiKey: key === undefined ? undefined : new Secret(key),
  };
}
