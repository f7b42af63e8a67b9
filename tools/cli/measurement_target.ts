// A throwaway target for the benchmarks and the command line's tests: public.<table>(id bigint, body text, embedding vector(384)) with N rows of varied text, an HNSW index, registered with a given model.
import type { Sql } from "../../supabase/functions/_shared/database.ts";

export interface MeasurementTarget {
  table: string;
  /** Unregisters the target and drops the table and its content function. */
  drop(): Promise<void>;
}

/** The comment every measurement table carries: only a table with it is ever dropped. */
export const measurementTableComment =
  "throwaway table of a measurement (benchmarks, tests): dropped by the next run";

/**
 * Unregisters public.<table>'s target and drops the table with its content function; refuses when
 * the table exists without measurementTableComment: a user's table of the same name is never dropped.
 */
export async function dropMeasurementTable(sql: Sql, table: string): Promise<void> {
  const [{ present, comment }] = await sql<{ present: boolean; comment: string | null }[]>`
    select to_regclass(${`public.${table}`}) is not null as present,
           obj_description(to_regclass(${`public.${table}`}), 'pg_class') as comment`;
  if (present && comment !== measurementTableComment) {
    throw new Error(
      `public.${table} exists and is not a measurement table (its comment is not ${
        JSON.stringify(measurementTableComment)
      }): it is never dropped; rename it or use another database`,
    );
  }
  await sql`
    select embeddings.unregister_target(t.id) from embeddings.targets as t where t.name = ${table}`;
  // The content function takes the table's row type: cascade drops it with the table.
  await sql.unsafe(`drop table if exists public.${table} cascade`);
}

const topics = ["chords", "mixing", "drums", "melody", "mastering", "lyrics", "tempo"];
const moods = ["bright", "dark", "calm", "driving", "sparse", "dense"];

/** Creates (replacing any earlier one) and registers the table; its rows are queued by the registration's backfill. */
export async function createMeasurementTarget(
  sql: Sql,
  { table, rows, model }: { table: string; rows: number; model: string },
): Promise<MeasurementTarget> {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`not a plain table name: ${table}`);
  const drop = () => dropMeasurementTable(sql, table);
  await drop();
  await sql.unsafe(`
    create table public.${table} (id bigint primary key, body text not null,
      embedding extensions.vector(384));
    create function public.${table}_content(entry public.${table}) returns text
      language sql immutable set search_path = '' as $$ select entry.body $$;
    insert into public.${table} (id, body)
      select i, format('note %s: a %s idea about %s, then %s for the bridge', i,
        (array['${moods.join("','")}'])[1 + i % ${moods.length}],
        (array['${topics.join("','")}'])[1 + i % ${topics.length}],
        (array['${topics.join("','")}'])[1 + (i / ${topics.length}) % ${topics.length}])
      from generate_series(1, ${rows}) as i;
    create index ${table}_embedding_hnsw_idx on public.${table}
      using hnsw (embedding extensions.vector_cosine_ops);
    comment on table public.${table} is '${measurementTableComment}';
    alter table public.${table} enable row level security;
    revoke all on public.${table} from anon, authenticated;`);
  await sql`
    select embeddings.register_target(${`public.${table}`}::regclass, 'id',
      ${`public.${table}_content(public.${table})`}::regprocedure, 'embedding', ${model}, 384)`;
  return { table, drop };
}
