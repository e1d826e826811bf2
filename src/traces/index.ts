export { createTraceWriter, type TraceWriter, type TraceWriterOptions } from "./writer.ts";
export { traceRoutes, type TraceRoutesOptions } from "./routes.ts";
export { traceBodyColumns } from "./body-encryption.ts";
export {
  createTracePruner,
  type PruneResult,
  type TracePruner,
  type TracePrunerOptions,
} from "./retention.ts";
export {
  attemptSchema,
  encodeCursor,
  traceDetailSchema,
  traceListQuerySchema,
  traceListSchema,
  traceSummarySchema,
  type Attempt,
  type AttemptOutcome,
  type TraceAttemptView,
  type TraceDetail,
  type TraceEndpoint,
  type TraceList,
  type TraceListQuery,
  type TraceRecord,
  type TraceSink,
  type TraceSummary,
} from "./schema.ts";
