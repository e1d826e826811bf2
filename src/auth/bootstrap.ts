import { KeelError } from "../core/errors.ts";
import { Secret } from "../core/secret.ts";
import { generateKey, isKeyFormat, keyFormatHint } from "./key-material.ts";
import type { AuthService } from "./service.ts";

export interface BootstrapOptions {
  service: AuthService;
  /** KEEL_ADMIN_KEY, when set. */
  adminKey?: Secret | string | undefined;
  /** Shows a generated key to the operator (the terminal, never the log). Called at most once. */
  print: (key: string) => void;
}

export type BootstrapResult =
  /** KEEL_ADMIN_KEY was stored as a global owner key now. */
  | "stored_admin_key"
  /** KEEL_ADMIN_KEY was stored before (or revoked since: it stays revoked). */
  | "admin_key_known"
  /** No KEEL_ADMIN_KEY: a key was generated and printed. */
  | "generated"
  /** No KEEL_ADMIN_KEY and a first key existed already: nothing done. */
  | "already_bootstrapped";

/**
 * First start: the global owner key. With KEEL_ADMIN_KEY it is that key (checked for format,
 * stored if it is not yet; a revoked one stays revoked). Without it, on the very first start
 * of the database, a key is generated and handed to `print` once; no later start on any
 * replica prints one again (the claim is stored with the key, in one transaction).
 */
export async function bootstrapAdminKey(options: BootstrapOptions): Promise<BootstrapResult> {
  const { service } = options;
  const adminKey =
    options.adminKey instanceof Secret ? options.adminKey.reveal() : options.adminKey;

  if (adminKey !== undefined && adminKey.trim() !== "") {
    if (!isKeyFormat(adminKey)) {
      throw new KeelError(
        "config_invalid",
        `KEEL_ADMIN_KEY: ${keyFormatHint} (generate one with: ` +
          `node -e "console.log('sk-keel-'+crypto.randomBytes(32).toString('base64url'))")`,
      );
    }
    const stored = await service.storeOwnerKey(adminKey, {
      name: "admin (KEEL_ADMIN_KEY)",
      onlyFirst: false,
    });
    return stored ? "stored_admin_key" : "admin_key_known";
  }

  if (await service.bootstrapped()) return "already_bootstrapped";
  const key = generateKey();
  const stored = await service.storeOwnerKey(key, { name: "admin (first start)", onlyFirst: true });
  if (!stored) return "already_bootstrapped";
  options.print(key);
  return "generated";
}
