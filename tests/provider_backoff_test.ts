// When the worker calls a failing provider again: its Retry-After, else a doubling backoff with a cap, reset by a success; and the stop code each failure kind gives.
import assert from "node:assert/strict";
import {
  firstBackoffMs,
  longestBackoffMs,
  ProviderBackoff,
  providerStopCode,
  shortestWaitMs,
} from "../supabase/functions/_shared/provider_backoff.ts";
import {
  ProviderError,
  toProviderError,
} from "../supabase/functions/_shared/providers/provider_error.ts";

Deno.test("provider backoff: doubling from a second, capped, reset by a success; Retry-After wins", () => {
  const backoff = new ProviderBackoff();
  const down = new ProviderError("unavailable", "500");
  assert.equal(backoff.waitMs(0), 0, "no failure, no wait");
  const waits = [1, 2, 3, 4, 5, 6, 7].map(() => backoff.failed(down, 0));
  assert.deepEqual(waits, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  assert.equal(firstBackoffMs, 1_000);
  assert.equal(longestBackoffMs, 30_000);
  assert.equal(backoff.waitMs(10_000), 20_000, "measured from the failure");
  assert.equal(backoff.lastError, down);

  backoff.succeeded();
  assert.equal(backoff.waitMs(0), 0);
  assert.equal(backoff.lastError, null);
  assert.equal(backoff.failed(down, 0), 1_000, "a success starts the doubling again");

  const limited = new ProviderError("rate_limited", "429", 90_000);
  assert.equal(backoff.failed(limited, 5_000), 90_000, "the provider's Retry-After, uncapped");
  assert.equal(backoff.waitMs(5_000), 90_000);
  const now = new ProviderError("rate_limited", "429", 0);
  assert.equal(backoff.failed(now, 0), shortestWaitMs, "Retry-After: 0 still waits a little");
  assert.equal(shortestWaitMs, 250);
});

Deno.test("provider backoff: each failure kind ends a run with the stop code that says so", () => {
  assert.equal(providerStopCode(new ProviderError("unavailable", "")), "provider_unavailable");
  assert.equal(providerStopCode(new ProviderError("timeout", "")), "provider_unavailable");
  assert.equal(providerStopCode(new ProviderError("rate_limited", "")), "provider_rate_limited");
  assert.equal(
    providerStopCode(new ProviderError("malformed_answer", "")),
    "provider_malformed_answer",
  );
  assert.equal(providerStopCode(new ProviderError("rejected_input", "")), "provider_unavailable");
});

Deno.test("provider error: anything else a provider throws is the provider being down", () => {
  const typed = new ProviderError("rejected_input", "400");
  assert.equal(toProviderError(typed, "openai"), typed);
  const untyped = toProviderError(new TypeError("fetch failed"), "openai");
  assert.equal(untyped.kind, "unavailable");
  assert.equal(untyped.message, "embedding provider openai failed: fetch failed");
  assert.equal(
    toProviderError("a string", "local").message,
    "embedding provider local failed: a string",
  );
});
