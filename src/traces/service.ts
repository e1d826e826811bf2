import type { Kysely } from "kysely";
import type { Database } from "../core/db/tables.ts";
import { KeelError } from "../core/errors.ts";
import { idFloor } from "../core/ids.ts";
import { encodeCursor, type TraceDetail, type TraceList, type TraceListQuery } from "./schema.ts";
import { getTrace, listTraces } from "./store.ts";
import { toDetail, toSummary } from "./trace-rows.ts";

/** Reading traces: pages of summaries and single traces in full. Knows nothing of HTTP. */
export interface TraceService {
  list(query: TraceListQuery): Promise<TraceList>;
  get(id: string): Promise<TraceDetail>;
}

export function createTraceService(db: Kysely<Database>): TraceService {
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

    async get(id) {
      const row = await getTrace(db, id);
      if (row === undefined) {
        throw new KeelError("not_found", `no trace with id "${id}"`, { param: "id" });
      }
      return toDetail(row);
    },
  };
}
