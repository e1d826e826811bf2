export { createMetrics, type Metrics } from "./metrics.ts";
export { healthRoutes, type GatewayReadiness, type HealthRoutesOptions } from "./health-routes.ts";
export {
  livenessSchema,
  readinessSchema,
  type DatabaseCheck,
  type Liveness,
  type ModelCheck,
  type Readiness,
} from "./schema.ts";
