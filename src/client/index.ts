export {
  connect,
  createClient,
  type ChatOptions,
  type ClientOptions,
  type KeelClient,
  type TraceListParams,
} from "./client.ts";
