// `deno task demo`: starts the local stack, loads 20 music_knowledge rows (queued by the target's trigger), embeds them through the embed function and prints what the database holds.
import { createClient } from "@supabase/supabase-js";
import postgres from "postgres";
import { LocalSentenceEncoderProvider } from "../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts";
import type { WorkerReport } from "../supabase/functions/_shared/worker_report.ts";
import { apiKey } from "./stack/api_keys.ts";
import { startStack } from "./stack/local_stack.ts";
import { apiUrl, databaseUrl, localStackModel, seedSqlFile } from "./stack/local_stack_settings.ts";

console.log("1. Starting the local stack (PostgreSQL 15 + pgvector, functions gateway)...");
const stack = await startStack();
console.log(`   database ${stack.database}, functions gateway ${stack.gateway}`);

const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
try {
  console.log("2. Loading the 20 sample music_knowledge rows (supabase/seed.sql)...");
  // Deleting and inserting again makes the queue trigger queue every row, as new rows would be.
  const deleted = await sql`delete from public.music_knowledge`;
  await sql.file(seedSqlFile);
  const [loaded] = await sql<{ rows: number; queued: number }[]>`
    select total_rows::int as rows, (pending + in_flight)::int as queued
    from embeddings.status where name = 'music_knowledge'`;
  console.log(
    `   ${loaded.rows} rows in music_knowledge (${deleted.count} earlier rows removed); ${loaded.queued} queued for embedding`,
  );

  console.log("3. The seed's mistake, tried: invoking embed with the anon key...");
  const anonClient = createClient(apiUrl, await apiKey("anon"), {
    auth: { persistSession: false },
  });
  const refused = await anonClient.functions.invoke("embed", { body: {} });
  const refusedStatus = (refused.error as { context?: Response } | null)?.context?.status;
  console.log(`   refused with HTTP ${refusedStatus}: nothing can be written with the anon key`);

  console.log("4. Embedding every target's queue through the embed function (service_role key)...");
  const serviceClient = createClient(apiUrl, await apiKey("service_role"), {
    auth: { persistSession: false },
  });
  const { data: report, error } = await serviceClient.functions.invoke<WorkerReport>("embed", {
    body: { batchSize: 8 },
  });
  if (error || !report) {
    const body = await (error as { context?: Response }).context?.text();
    console.error(`   the embed function failed: ${error?.message}\n${body ?? ""}`);
    Deno.exit(1);
  }
  console.log(`   function says: ${report.message}`);
  console.log(
    `   claimed ${report.claimed}, written ${report.written}, failed ${report.failed}, still queued ${report.queued}, ${report.batches} batches, ${report.durationMs} ms, model ${report.model}`,
  );
  const music = report.targets.find((target) => target.target === "music_knowledge");

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
  const [status] = await sql<{ embedded: number; queued: number; dead: number }[]>`
    select embedded::int, (pending + in_flight)::int as queued, dead_lettered::int as dead
    from embeddings.status where name = 'music_knowledge'`;
  console.log(
    `   embeddings.status: ${status.embedded} embedded with the current model, ${status.queued} queued, ${status.dead} dead-lettered`,
  );
  const verified = report.ok && stored.embedded === stored.rows &&
    music?.written === stored.rows && status.embedded === stored.rows && status.queued === 0;
  console.log(verified ? "   VERIFIED: every row is stored." : "   NOT VERIFIED: see above.");

  console.log('6. Searching: "how do I write a catchy chorus melody?"');
  const [query] = await new LocalSentenceEncoderProvider(localStackModel.dimensions).embed([
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
