// `deno task demo`: starts the local stack, seeds 20 music_knowledge rows, backfills them through the embed function and prints what the database holds.
import { createClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import { apiKey } from "./stack/api_keys.ts";
import { startStack } from "./stack/local_stack.ts";
import { apiUrl, databaseUrl, seedSqlFile } from "./stack/local_stack_settings.ts";

console.log("1. Starting the local stack (PostgreSQL 15 + pgvector, functions gateway)...");
const stack = await startStack();
console.log(`   database ${stack.database}, functions gateway ${stack.gateway}`);

const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
try {
  console.log("2. Seeding the 20 sample music_knowledge rows (supabase/seed.sql)...");
  await sql.file(seedSqlFile);
  const cleared = await sql`
    update public.music_knowledge set embedding = null where embedding is not null`;
  const [{ rows }] = await sql<{ rows: number }[]>`
    select count(*)::int as rows from public.music_knowledge`;
  console.log(
    `   ${rows} rows in music_knowledge; cleared ${cleared.count} old embeddings so the backfill runs again`,
  );

  console.log("3. The seed's mistake, tried: invoking embed with the anon key...");
  const anonClient = createClient(apiUrl, await apiKey("anon"), {
    auth: { persistSession: false },
  });
  const refused = await anonClient.functions.invoke("embed", { body: {} });
  const refusedStatus = (refused.error as { context?: Response } | null)?.context?.status;
  console.log(`   refused with HTTP ${refusedStatus}: nothing can be written with the anon key`);

  console.log("4. Backfilling through the embed function with the service_role key...");
  const serviceClient = createClient(apiUrl, await apiKey("service_role"), {
    auth: { persistSession: false },
  });
  const { data: report, error } = await serviceClient.functions.invoke("embed", {
    body: { batchSize: 8 },
  });
  if (error) {
    const body = await (error as { context?: Response }).context?.text();
    console.error(`   the embed function failed: ${error.message}\n${body ?? ""}`);
    Deno.exit(1);
  }
  console.log(`   function says: ${report.message}`);
  console.log(
    `   processed ${report.processed}, written ${report.written}, failed ${report.failed.length}, remaining ${report.remaining}, ${report.batches} batches, ${report.durationMs} ms, model ${report.model}`,
  );

  console.log("5. Verifying, by reading the table back:");
  const [stored] = await sql<
    { rows: number; embedded: number; dims: number[]; min_norm: number; max_norm: number }[]
  >`
    select count(*)::int as rows,
           count(embedding)::int as embedded,
           array_agg(distinct extensions.vector_dims(embedding)) filter (where embedding is not null) as dims,
           min(extensions.vector_norm(embedding)) as min_norm,
           max(extensions.vector_norm(embedding)) as max_norm
    from public.music_knowledge`;
  console.log(
    `   ${stored.embedded}/${stored.rows} rows have an embedding; dimensions ${
      stored.dims?.join(", ") ?? "none"
    }; norms ${stored.min_norm?.toFixed(4)}..${stored.max_norm?.toFixed(4)}`,
  );
  const verified = stored.embedded === stored.rows && report.written === report.processed &&
    report.failed.length === 0;
  console.log(verified ? "   VERIFIED: every row is stored." : "   NOT VERIFIED: see above.");

  console.log('6. Searching: "how do I write a catchy chorus melody?"');
  const [query] = await new LocalSentenceEncoderProvider(384).embed([
    "how do I write a catchy chorus melody?",
  ]);
  const matches = await sql<{ topic: string; similarity: number }[]>`
    select topic, 1 - (embedding operator(extensions.<=>) ${
    JSON.stringify(query)
  }::extensions.vector) as similarity
    from public.music_knowledge
    order by embedding operator(extensions.<=>) ${JSON.stringify(query)}::extensions.vector
    limit 3`;
  for (const match of matches) {
    console.log(`   ${match.similarity.toFixed(3)}  ${match.topic}`);
  }
  if (!verified) Deno.exit(1);
} finally {
  await sql.end();
}
