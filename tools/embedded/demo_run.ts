// The demo's steps: open a database, load the 20 sample rows, show that a client cannot write an embedding, embed them with the engine, read the table back, search it.
import postgres from "postgres";
import { redactDatabaseUrl } from "../cli/database_url.ts";
import { chooseDatabase } from "../cli/database_url.ts";
import { importOrExplain } from "../cli/missing_dependency.ts";
import type { WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";
import {
  databaseUrl as localStackUrl,
  localStackModel,
  seedSqlFile,
} from "../stack/local_stack_settings.ts";
import { dispatchNote } from "./dispatch_note.ts";
import { describeDir, openEmbeddedDatabase } from "./embedded_database.ts";
import { embedThroughGateway, tryTheAnonKey } from "./demo_gateway.ts";
import { embedInProcess, tryWritingAsAClient } from "./demo_in_process.ts";
import { closeConnection } from "../cli/close_connection.ts";

interface DemoDatabase {
  url: string;
  /** The function through the local stack's gateway, or the same worker in this process. */
  via: "gateway" | "in-process";
  close(): Promise<void>;
}

const usage = `usage: deno task demo [--stack]
Without --stack: the embedded database (.local/pglite, or EMBEDDED_DB_DIR), or the database
SUPABASE_DB_URL names, with the embed function's worker in this process.
--stack: the local stack (PostgreSQL 15, the functions gateway), the function invoked over HTTP.`;

async function openDemoDatabase(useStack: boolean): Promise<DemoDatabase> {
  if (useStack) {
    console.log("1. Starting the local stack (PostgreSQL 15 + pgvector, functions gateway)...");
    const { startStack } = await import("../stack/local_stack.ts");
    const stack = await startStack();
    console.log(`   database ${stack.database}, functions gateway ${stack.gateway}`);
    return { url: localStackUrl, via: "gateway", close: () => Promise.resolve() };
  }
  const choice = chooseDatabase(undefined);
  if (choice.kind === "url") {
    console.log(`1. Using the database SUPABASE_DB_URL names (${redactDatabaseUrl(choice.url)})`);
    return { url: choice.url, via: "in-process", close: () => Promise.resolve() };
  }
  console.log(
    `1. Opening the embedded database in ${
      describeDir(choice.dir)
    } (PGlite: PostgreSQL with pgvector in WebAssembly, in this process; nothing to install)...`,
  );
  const embedded = await openEmbeddedDatabase(choice.dir);
  for (const note of embedded.notes) {
    // Step 1 has said where and what it is; the dispatch sentence follows from the database.
    if (note.kind === "created") console.log("   Created it: this is its first start.");
    else if (note.kind !== "dispatch") console.log(`   ${note.text}`);
  }
  if (!embedded.serving) console.log("   (served by another process that has it open)");
  return { url: embedded.url, via: "in-process", close: () => embedded.close() };
}

async function printDispatchNote(sql: postgres.Sql): Promise<void> {
  const [status] = await sql<{ missing: string | null }[]>`
    select missing from embeddings.dispatch_status`;
  const note = dispatchNote(status?.missing ?? null);
  if (note) console.log(`   ${note}`);
}

async function loadSampleRows(sql: postgres.Sql): Promise<void> {
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
}

/** Step 5: what the table holds, read back. True when every row is stored as the report says. */
async function verifyReadBack(sql: postgres.Sql, report: WorkerReport): Promise<boolean> {
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
  const music = report.targets.find((target) => target.target === "music_knowledge");
  const verified = report.ok && stored.embedded === stored.rows &&
    music?.written === stored.rows && status.embedded === stored.rows && status.queued === 0;
  console.log(verified ? "   VERIFIED: every row is stored." : "   NOT VERIFIED: see above.");
  return verified;
}

async function search(sql: postgres.Sql): Promise<void> {
  const question = "how do I write a catchy chorus melody?";
  console.log(`6. Searching: "${question}"`);
  const { LocalSentenceEncoderProvider } = await importOrExplain(
    () => import("../../supabase/functions/_shared/providers/local_sentence_encoder_provider.ts"),
    "The demo's search (the local model)",
  );
  const [query] = await new LocalSentenceEncoderProvider(localStackModel.dimensions).embed([
    question,
  ]);
  const vector = JSON.stringify(query);
  const matches = await sql<{ topic: string; similarity: number }[]>`
    select topic, 1 - (embedding operator(extensions.<=>) ${vector}::extensions.vector) as similarity
    from public.music_knowledge
    order by embedding operator(extensions.<=>) ${vector}::extensions.vector
    limit 3`;
  for (const match of matches) console.log(`   ${match.similarity.toFixed(3)}  ${match.topic}`);
}

export async function runDemo(args: readonly string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== "--stack");
  if (unknown.length > 0 || args.includes("--help") || args.includes("-h")) {
    (unknown.length > 0 && !unknown.includes("--help") && !unknown.includes("-h")
      ? console.error
      : console.log)(usage);
    return unknown.length > 0 && !unknown.includes("--help") && !unknown.includes("-h") ? 2 : 0;
  }
  const database = await openDemoDatabase(args.includes("--stack"));
  const sql = postgres(database.url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    if (database.via === "in-process") await printDispatchNote(sql);
    await loadSampleRows(sql);
    const refused = database.via === "gateway"
      ? await tryTheAnonKey()
      : await tryWritingAsAClient(sql);
    if (!refused) return 1;
    const report = database.via === "gateway"
      ? await embedThroughGateway()
      : await embedInProcess(database.url);
    if (report === null) return 1;
    const verified = await verifyReadBack(sql, report);
    await search(sql);
    return verified ? 0 : 1;
  } finally {
    await closeConnection(sql);
    await database.close();
  }
}
