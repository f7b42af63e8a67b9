// The demo's steps 3 and 4 on the local stack: the function invoked over HTTP through the gateway, as supabase-js invokes it.
//
// FunctionsClient is what supabase-js's functions.invoke uses; imported on its own it uses the
// runtime's fetch, where supabase-js would load @supabase/node-fetch, whose whatwg-url requires
// Node's deprecated punycode module (a DEP0040 warning).
import { FunctionsClient, FunctionsHttpError } from "@supabase/functions-js";
import type { WorkerReport } from "../../supabase/functions/_shared/worker_report.ts";
import { publishableKey, secretKey } from "../stack/api_keys.ts";
import { functionsUrl } from "../stack/local_stack_settings.ts";
import { printReport } from "./demo_report.ts";

function client(key: string): FunctionsClient {
  return new FunctionsClient(functionsUrl, {
    headers: { apikey: key, Authorization: `Bearer ${key}` },
  });
}

/** Step 3: the seed's mistake, tried: invoking embed with the publishable (anon) key. */
export async function tryTheAnonKey(): Promise<boolean> {
  console.log("3. The seed's mistake, tried: invoking embed with the publishable (anon) key...");
  const { error } = await client(publishableKey).invoke("embed", { body: {} });
  const status = error instanceof FunctionsHttpError ? (error.context as Response).status : null;
  if (status !== null && status >= 400 && status < 500) {
    await (error.context as Response).body?.cancel();
    console.log(`   refused with HTTP ${status}: nothing can be written with the publishable key`);
    return true;
  }
  console.log(`   NOT refused (${error?.message ?? "HTTP 200"})`);
  return false;
}

/** Step 4: the function over HTTP with the secret key. */
export async function embedThroughGateway(): Promise<WorkerReport | null> {
  console.log("4. Embedding every target's queue through the embed function (secret key)...");
  const { data, error } = await client(secretKey).invoke<WorkerReport>("embed", {
    body: { batchSize: 8 },
  });
  if (error || !data) {
    const body = error instanceof FunctionsHttpError
      ? await (error.context as Response).text()
      : "";
    console.error(`   the embed function failed: ${error?.message}\n${body}`);
    return null;
  }
  printReport(data, "function");
  return data;
}
