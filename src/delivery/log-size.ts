// How big the delivery log is, cheaply enough to ask at every metrics scrape: the planner's row
// estimate (pg_class.reltuples, refreshed by VACUUM and ANALYZE) and the size on disk with indexes
// and TOAST (pg_total_relation_size). Neither reads the table itself.
import type { PrismaClient } from '../generated/prisma/client';

/** The delivery log's tables. */
export const LOG_TABLES = ['events', 'deliveries', 'delivery_attempts'] as const;

export interface LogTableSize {
  table: string;
  rows: number;
  bytes: number;
}

/** A table never vacuumed or analyzed has no estimate: counting it stops here (bounded cost). */
const COUNT_LIMIT = 100_000;

export async function measureLogTables(prisma: PrismaClient, tables: readonly string[] = LOG_TABLES): Promise<LogTableSize[]> {
  const rows = await prisma.$queryRaw<{ table: string; estimate: number; bytes: number }[]>`
    SELECT t.name AS "table", c.reltuples::float8 AS estimate, pg_total_relation_size(c.oid)::float8 AS bytes
    FROM unnest(${tables as string[]}::text[]) WITH ORDINALITY AS t(name, position)
    JOIN pg_class c ON c.oid = to_regclass(t.name)
    ORDER BY t.position`;
  return Promise.all(
    rows.map(async ({ table, estimate, bytes }) => {
      if (estimate >= 0) return { table, rows: estimate, bytes };
      // Only names from `tables` (ours) reach this statement, and to_regclass found them.
      const [counted] = await prisma.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::float8 AS n FROM (SELECT 1 FROM "${table.replaceAll('"', '""')}" LIMIT ${COUNT_LIMIT}) AS bounded`,
      );
      return { table, rows: counted?.n ?? 0, bytes };
    }),
  );
}

/**
 * `measure` for a metrics scrape that must answer whatever the database is doing (PGlite busy with
 * a long query, an outage): at most one measurement in flight, and past `timeoutMs` the last known
 * sizes (none before the first) instead of a wait.
 */
export function boundedLogSizes(measure: () => Promise<LogTableSize[]>, timeoutMs: number): () => Promise<LogTableSize[]> {
  let last: LogTableSize[] = [];
  let inFlight: Promise<LogTableSize[]> | null = null;
  return async () => {
    inFlight ??= measure()
      .then((sizes) => (last = sizes))
      .catch(() => last)
      .finally(() => (inFlight = null));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<LogTableSize[]>((resolve) => (timer = setTimeout(() => resolve(last), timeoutMs)));
    return Promise.race([inFlight, late]).finally(() => clearTimeout(timer));
  };
}
