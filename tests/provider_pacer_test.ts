// The provider pacer: a 429 pauses every call and halves the window once; answers grow it by one a window up to its cap; rising latency halves it.
import assert from "node:assert/strict";
import { waitableLeaseMs } from "../supabase/functions/_shared/batch_pipeline.ts";
import {
  isPacingError,
  oneCallAtATime,
  ProviderPacer,
} from "../supabase/functions/_shared/provider_pacer.ts";
import { ProviderError } from "../supabase/functions/_shared/providers/provider_error.ts";

const never = new AbortController().signal;

Deno.test("provider pacer: answers grow the window one call a window up to the cap; a 429 halves it once and pauses every call", async () => {
  const pacer = new ProviderPacer({ maxInFlight: 8, initialInFlight: 2 });
  assert.equal(pacer.window, 2);
  // Four answers at the same latency: 2 -> 2.5 -> 2.9 -> 3.24 -> 3.55 (additive increase).
  for (let answer = 0; answer < 4; answer++) pacer.answered(0, 100);
  assert.equal(pacer.window, 3);
  for (let answer = 0; answer < 100; answer++) pacer.answered(0, 100);
  assert.equal(pacer.window, 8, "never past its cap");

  const sentAt = performance.now();
  const limited = new ProviderError("rate_limited", "429", 60_000);
  const now = performance.now();
  assert.equal(pacer.limited(limited, sentAt, now), 60_000);
  assert.equal(pacer.window, 4, "halved");
  pacer.limited(limited, sentAt, now);
  assert.equal(pacer.window, 4, "a second 429 of a call sent before the halving halves nothing");
  assert.ok(pacer.pauseMs(now) > 59_000, "every call waits the provider's pause");

  // A call waiting out the pause is let go when the run stops, and says it waited.
  const stop = new AbortController();
  const acquiring = pacer.acquire(stop.signal);
  stop.abort();
  const acquired = await acquiring;
  assert.equal(acquired.waits, 1);
  pacer.release();
});

Deno.test("provider pacer: latency twice the fastest halves the window; a 429 without a wait pauses a second, doubling", () => {
  const pacer = new ProviderPacer({ maxInFlight: 16, initialInFlight: 8 });
  pacer.answered(0, 100);
  const before = pacer.window;
  pacer.answered(performance.now(), performance.now() + 250);
  assert.equal(pacer.window, Math.floor(before / 2));
  const unsaid = new ProviderError("rate_limited", "429 without a header");
  assert.equal(pacer.limited(unsaid, 0, 0), 1_000);
  assert.equal(pacer.limited(unsaid, 0, 0), 2_000);
  pacer.answered(0, 100);
  assert.equal(pacer.limited(unsaid, 0, 0), 1_000, "an answer starts the doubling again");
});

Deno.test("provider pacer: one call at a time waits for the slot; the next call goes when it is freed", async () => {
  const pacer = new ProviderPacer(oneCallAtATime);
  await pacer.acquire(never);
  let second = false;
  const next = pacer.acquire(never).then(() => second = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(second, false, "the slot is taken");
  pacer.release();
  await next;
  assert.equal(second, true);
  pacer.release();
});

Deno.test("provider pacer: only a limit or an overloaded provider that said when is a pause; a lease keeps room for the call and the write", () => {
  assert.equal(isPacingError(new ProviderError("rate_limited", "429")), true);
  assert.equal(isPacingError(new ProviderError("unavailable", "503", 2_000)), true);
  assert.equal(isPacingError(new ProviderError("unavailable", "500")), false);
  assert.equal(isPacingError(new ProviderError("rejected_input", "400")), false);
  assert.equal(waitableLeaseMs(300), 225_000, "a quarter of the lease is kept");
  assert.equal(waitableLeaseMs(10), 5_000, "at least 5 s are kept");
  assert.ok(waitableLeaseMs(1) < 0, "a 1 s lease waits for nothing: its rows go back");
});

Deno.test("provider pacer: a call waits for the quota the provider's headers report, counting what was sent since; a wait past the lease is refused", async () => {
  const pacer = new ProviderPacer({ maxInFlight: 8, initialInFlight: 8 });
  const sentAt = performance.now();
  // 60,000 tokens a minute (one a millisecond), 1,000 left, full in a second.
  const reading = { limitPerMinute: 60_000, remaining: 1_000, resetMs: 1_000 };
  pacer.noteQuota({ tokens: reading, requests: null }, sentAt);
  const first = await pacer.acquire(never, 600, performance.now());
  assert.equal(first.waits, 0, "600 of the 1,000 left: sent at once");
  await assert.rejects(
    pacer.acquire(never, 600, performance.now()),
    (error: ProviderError) => {
      assert.equal(error.kind, "rate_limited");
      assert.ok(error.retryAfterMs !== null && error.retryAfterMs > 0, "the wait is said");
      assert.match(error.message, /past what this batch's lease allows/);
      return true;
    },
    "the 600 just sent count: 400 left is too little, and waiting is not allowed",
  );
  const small = await pacer.acquire(never, 300, performance.now());
  assert.equal(small.waits, 0, "300 of the 400 left fits");
  pacer.release();
  pacer.release();
});
