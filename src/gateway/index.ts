export { createGateway, type Gateway, type GatewayDeps, type GatewayModel } from "./gateway.ts";
export { gatewayRoutes } from "./routes.ts";
export type { RequestMeta } from "./call.ts";
export type { GatewayReadiness } from "./readiness.ts";
