import type { Kysely } from "kysely";
import type { Database } from "../core/db/tables.ts";
import { KeelError } from "../core/errors.ts";
import { idFloor } from "../core/ids.ts";
import type { Keyring } from "../core/keyring.ts";
import { openTraceBodies } from "./body-encryption.ts";
import { encodeCursor, type TraceDetail, type TraceList, type TraceListQuery } from "./schema.ts";
import { getTrace, listTraces } from "./store.ts";
import { toDetail, toSummary } from "./trace-rows.ts";

/** Reading traces: pages of summaries and single traces in full. Knows nothing of HTTP. */
export interface TraceService {
  /** `query.project_id` limits the page to one project; the caller has already scoped it. */
  list(query: TraceListQuery): Promise<TraceList>;
  /**
   * One trace, bodies decrypted. `visible` decides from the trace's project whether the caller
   * may see it; a trace it may not see is answered exactly like an unknown id.
   */
  get(id: string, visible?: (projectId: string | null) => boolean): Promise<TraceDetail>;
}

export interface TraceServiceOptions {
  /** Opens encrypted bodies; needed once any trace was written with `traces.encrypt` on. */
  keyring?: Keyring | undefined;
}

export function createTraceService(
  db: Kysely<Database>,
  options: TraceServiceOptions = {},
): TraceService {
  return {
    async list(query) {
      // A trace's id encodes when Keel received the request: time bounds become id bounds.
      const until = query.until === undefined ? undefined : idFloor("trace", query.until);
      const beforeId =
        query.cursor !== undefined && (until === undefined || query.cursor < until)
          ? query.cursor
          : until;
      // One row more than the page tells whether another page follows.
      const rows = await listTraces(db, {
        projectId: query.project_id,
        model: query.model,
        status: query.status,
        fromId: query.since === undefined ? undefined : idFloor("trace", query.since),
        beforeId,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        data: page.map(toSummary),
        next_cursor: rows.length > query.limit && last !== undefined ? encodeCursor(last.id) : null,
      };
    },

    async get(id, visible = () => true) {
      const row = await getTrace(db, id);
      if (row === undefined || !visible(row.project_id)) throw traceNotFound(id);
      return toDetail(openTraceBodies(row, options.keyring));
    },
  };
}

function traceNotFound(id: string): KeelError {
  return new KeelError("not_found", `no trace with id "${id}"`, { param: "id" });
}
