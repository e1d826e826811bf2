import { z } from "zod";

/** The bodies of `/healthz` and `/readyz`, shared by the routes and the typed client. */

export const livenessSchema = z.object({ status: z.literal("ok") });

export const databaseCheckSchema = z.object({
  ok: z.boolean(),
  engine: z.enum(["sqlite", "postgres"]),
  latency_ms: z.number().int().nonnegative(),
  error: z.string().optional(),
});

export const modelCheckSchema = z.object({
  ok: z.boolean(),
  healthy: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});

export const readinessSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z.object({
    database: databaseCheckSchema,
    /** The gateway's own verdict: can it serve every configured model? */
    gateway: z.object({ ok: z.boolean(), error: z.string().optional() }),
    /** Healthy deployments per public model. */
    models: z.record(z.string(), modelCheckSchema),
  }),
});

export type Liveness = z.infer<typeof livenessSchema>;
export type DatabaseCheck = z.infer<typeof databaseCheckSchema>;
export type ModelCheck = z.infer<typeof modelCheckSchema>;
export type Readiness = z.infer<typeof readinessSchema>;
