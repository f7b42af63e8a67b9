// Token-sized requests: a claimed batch goes to the provider in requests within its per-request limits, and a request it still refuses as too large is split in half and sent again, no row charged. Against the quota server; no database, no timing asserted.
import assert from "node:assert/strict";
import { startQuotaServer } from "../bench/quota_openai_server.ts";
import { embedClaimedRows } from "../supabase/functions/_shared/embed_claimed_rows.ts";
import { ProviderPacer } from "../supabase/functions/_shared/provider_pacer.ts";
import { OpenAiCompatibleProvider } from "../supabase/functions/_shared/providers/openai_compatible_provider.ts";
import {
  refusedAsTooLarge,
  requestGroups,
  type RequestLimits,
} from "../supabase/functions/_shared/providers/request_limits.ts";
import type { ClaimedRow } from "../supabase/functions/_shared/target_queue.ts";

const model = "text-embedding-3-small";

/** `count` rows of 60 characters: 20 estimated tokens each. */
function rows(count: number): ClaimedRow[] {
  return Array.from({ length: count }, (_, index) => ({
    key: `r${index}`,
    content: `row ${index} `.padEnd(60, "x"),
    contentHash: "",
    contentError: null,
  }));
}

async function embedAgainst(
  serverCaps: { maxInputs: number; maxTokensPerRequest: number },
  providerLimits: RequestLimits,
  count: number,
) {
  const server = startQuotaServer({ latencyMs: 0, ...serverCaps });
  try {
    const provider = new OpenAiCompatibleProvider({
      baseUrl: server.baseUrl,
      apiKey: undefined,
      model,
      dimensions: 384,
      timeoutMs: 10_000,
      requestBatchSize: 256,
      requestLimits: providerLimits,
    });
    const budget = { signal: new AbortController().signal, remainingMs: () => 60_000 };
    const result = await embedClaimedRows(provider, 384, rows(count), budget, {
      pacer: new ProviderPacer(),
      waitUntil: Infinity,
    });
    return { result, counts: { ...server.counts } };
  } finally {
    await server.close();
  }
}

Deno.test("request limits: a batch is sent in requests of at most maxInputs texts and maxTokens estimated tokens", async () => {
  const byInputs = await embedAgainst(
    { maxInputs: 4, maxTokensPerRequest: 300_000 },
    { maxInputs: 4, maxTokens: 300_000 },
    10,
  );
  assert.equal(byInputs.result.embeddings.length, 10);
  assert.equal(byInputs.counts.calls, 3, "4 + 4 + 2");
  assert.equal(byInputs.counts.refused, 0, "no request over the server's caps");

  const byTokens = await embedAgainst(
    { maxInputs: 2_048, maxTokensPerRequest: 100 },
    { maxInputs: 2_048, maxTokens: 100 },
    12,
  );
  assert.equal(byTokens.result.embeddings.length, 12);
  assert.equal(byTokens.counts.calls, 3, "5 rows of 20 tokens a request: 5 + 5 + 2");
  assert.equal(byTokens.counts.refused, 0);
});

Deno.test("request limits: a request the provider refuses as too large is split in half and sent again; no row fails", async () => {
  // The provider believes 10 texts fit; the server takes 4 at most.
  const { result, counts } = await embedAgainst(
    { maxInputs: 4, maxTokensPerRequest: 300_000 },
    { maxInputs: 10, maxTokens: 300_000 },
    10,
  );
  assert.equal(result.embeddings.length, 10, "every row embedded");
  assert.deepEqual(result.failures, [], "no row charged for the request's size");
  assert.deepEqual(result.untried, []);
  assert.equal(result.providerError, null);
  // 10 refused, then 5 + 5 refused, then 3 + 2 + 3 + 2 answered.
  assert.equal(counts.refused, 3);
  assert.equal(counts.answered, 4);
  assert.equal(counts.texts, 10, "each row embedded once");
});

Deno.test("request limits: groups keep order; a text over the limit alone goes alone; size refusals are told from text refusals", () => {
  const tokens = [30, 30, 50, 120, 10];
  assert.deepEqual(
    requestGroups(tokens, (t: number) => t, { maxInputs: 10, maxTokens: 100 }),
    [[30, 30], [50], [120], [10]],
  );
  assert.deepEqual(requestGroups(tokens, (t: number) => t, undefined), [tokens]);
  assert.deepEqual(requestGroups([], (t: number) => t, undefined), []);
  assert.equal(refusedAsTooLarge("Requested 350000 tokens, max 300000 tokens per request"), true);
  assert.equal(refusedAsTooLarge("'input' holds 3000 texts; at most 2048 per request"), true);
  assert.equal(
    refusedAsTooLarge("This model's maximum context length is 8192 tokens, however you requested"),
    true,
  );
  assert.equal(refusedAsTooLarge("'input' contains a text that is refused"), false);
});
