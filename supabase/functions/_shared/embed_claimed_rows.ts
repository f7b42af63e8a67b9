// Embeds a claimed batch: in requests within the provider's per-request limits, paced (a 429 waited out, the rows held); a request refused as too large split in half; when the provider rejects a request's input, row by row so one bad row cannot sink the rest; when the provider itself fails, nothing is charged to the rows.
import { contentProblem } from "./content_checks.ts";
import { embeddingProblem } from "./embedding_checks.ts";
import { isPacingError, type ProviderPacer } from "./provider_pacer.ts";
import type { EmbeddingProvider, EmbedOptions } from "./providers/embedding_provider.ts";
import {
  estimateTokens,
  refusedAsTooLarge,
  requestGroups,
  type RequestLimits,
} from "./providers/request_limits.ts";
import { cutToInputLimit, exceedsInputLimit } from "./providers/input_limit.ts";
import { ProviderError, toProviderError } from "./providers/provider_error.ts";
import type { RunDeadline } from "./run_deadline.ts";
import type { ClaimedRow, RowEmbedding, RowFailure } from "./target_queue.ts";

/** A batch embedded: `T` is what a row is written as (its vector, or its chunks' vectors). */
export interface EmbeddedRows<T = RowEmbedding> {
  /** Rows with a checked vector (or every chunk's), ready to write. */
  embeddings: T[];
  /** Rows that failed on their own (their text, their vector): each costs an attempt. */
  failures: RowFailure[];
  /** Rows not embedded through no fault of theirs: handed back without an attempt. */
  untried: ClaimedRow[];
  /** Rows of `embeddings` whose text is longer than the model reads. */
  truncatedKeys: string[];
  /** The provider's failure (down, limiting, timing out, garbled): the rows it cost are untried. */
  providerError: ProviderError | null;
  /** The run's time was spent before the next provider call could start: the rest are untried. */
  outOfTime: boolean;
  /** Pauses the provider asked for (429/503 with a wait) that this batch waited out, and their ms. */
  rateLimitWaits: number;
  rateLimitWaitMs: number;
}

/** How this batch's provider calls are paced, and how long its lease lets it wait. */
export interface Pacing {
  pacer: ProviderPacer;
  /**
   * performance.now() past which a wait would leave the lease too little time for the call and
   * the write: a longer wait hands the rows back instead, to be claimed again after it.
   */
  waitUntil: number;
}

type Budget = Pick<RunDeadline, "signal" | "remainingMs">;

/**
 * The provider's answer, or a "timeout" once the run's budget is spent: a provider that ignores
 * the signal is given up on all the same (its late answer is dropped). One turn of the event
 * loop after the abort lets a provider that heeds the signal fail first, with its own message.
 */
function withinBudget<T>(work: Promise<T>, signal: AbortSignal, providerName: string): Promise<T> {
  let onAbort = () => {};
  let grace: ReturnType<typeof setTimeout> | undefined;
  const spent = new Promise<never>((_, reject) => {
    onAbort = () => {
      grace = setTimeout(() =>
        reject(
          new ProviderError(
            "timeout",
            `embedding provider ${providerName} did not answer before the run's time budget was spent`,
          ),
        ), 0);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, spent]).finally(() => {
    signal.removeEventListener("abort", onAbort);
    clearTimeout(grace);
  });
}

/** One provider call, checked to answer one vector per text; any failure as a ProviderError. */
async function callOnce(
  provider: EmbeddingProvider,
  rows: readonly ClaimedRow[],
  options: Required<EmbedOptions>,
): Promise<unknown[]> {
  const { signal } = options;
  let vectors: unknown;
  try {
    vectors = await withinBudget(
      provider.embed(rows.map((row) => row.content), options),
      signal,
      provider.name,
    );
  } catch (error) {
    throw toProviderError(error, provider.name);
  }
  if (!Array.isArray(vectors) || vectors.length !== rows.length) {
    throw new ProviderError(
      "malformed_answer",
      `embedding provider ${provider.name} returned ${
        Array.isArray(vectors) ? vectors.length : "no"
      } vectors for ${rows.length} texts; none of them is used`,
    );
  }
  return vectors;
}

/**
 * The provider call, paced: a 429/503 with a wait is waited out and the same rows sent again (no
 * attempt charged, no lease given up) while the wait fits the run's budget and the lease; else
 * the provider's error, for the caller to hand the rows back.
 */
async function embedTexts(
  provider: EmbeddingProvider,
  rows: readonly ClaimedRow[],
  budget: Budget,
  pacing: Pacing,
  result: EmbeddedRows,
): Promise<unknown[]> {
  while (true) {
    const tokens = rows.reduce((sum, row) => sum + estimateTokens(row.content), 0);
    // No wait past the lease nor past the run's budget: the rows go back instead.
    const waitUntil = Math.min(pacing.waitUntil, performance.now() + budget.remainingMs());
    const acquired = await pacing.pacer.acquire(budget.signal, tokens, waitUntil);
    result.rateLimitWaits += acquired.waits;
    result.rateLimitWaitMs += acquired.waitedMs;
    try {
      const vectors = await callOnce(provider, rows, {
        signal: budget.signal,
        onQuota: (quota) => pacing.pacer.noteQuota(quota, acquired.sentAt),
      });
      pacing.pacer.answered(acquired.sentAt, performance.now());
      return vectors;
    } catch (error) {
      const providerError = error as ProviderError;
      if (!isPacingError(providerError)) throw providerError;
      const now = performance.now();
      const pause = pacing.pacer.limited(providerError, acquired.sentAt, now);
      // The next call costs about what this one did; both must fit after the pause.
      const needed = pause + (now - acquired.sentAt);
      if (needed >= budget.remainingMs() || now + needed > pacing.waitUntil) throw providerError;
    } finally {
      pacing.pacer.release();
    }
  }
}

/** A row's vector goes to the batch's embeddings, or the row fails on its vector's problem. */
function accept(
  result: EmbeddedRows,
  provider: EmbeddingProvider,
  row: ClaimedRow,
  vector: unknown,
  problem: string | null,
): void {
  if (problem) {
    result.failures.push({ key: row.key, error: `${provider.model}: ${problem}` });
    return;
  }
  result.embeddings.push({
    key: row.key,
    contentHash: row.contentHash,
    embedding: vector as number[],
  });
  if (exceedsInputLimit(row.content, provider.inputLimit)) result.truncatedKeys.push(row.key);
}

/** Rows handed back untried: for the provider's failure, or (no error) for the spent time. */
function giveBack(
  result: EmbeddedRows,
  untried: readonly ClaimedRow[],
  error: ProviderError | null,
): void {
  result.untried.push(...untried);
  if (error) result.providerError = error;
  else result.outOfTime = true;
}

/** One call for a request's rows; returns the provider's error, which the caller decides about. */
async function embedBatch(
  result: EmbeddedRows,
  provider: EmbeddingProvider,
  dimensions: number,
  embeddable: readonly ClaimedRow[],
  paced: { budget: Budget; pacing: Pacing },
): Promise<ProviderError | null> {
  let vectors: unknown[];
  try {
    vectors = await embedTexts(provider, embeddable, paced.budget, paced.pacing, result);
  } catch (error) {
    return error as ProviderError;
  }
  const problems = vectors.map((vector) => embeddingProblem(vector, dimensions));
  if (embeddable.length > 1 && problems.every((problem) => problem !== null)) {
    // Not one usable vector: the provider is misconfigured (another size, say), not the rows.
    giveBack(
      result,
      embeddable,
      new ProviderError(
        "malformed_answer",
        `none of the ${vectors.length} vectors ${provider.model} returned can be stored (the first: ${
          problems[0]
        })`,
      ),
    );
    return null;
  }
  embeddable.forEach((row, index) =>
    accept(result, provider, row, vectors[index], problems[index])
  );
  return null;
}

/** The provider refused the batch's input: each row alone shows which rows it refuses. */
async function embedRowByRow(
  result: EmbeddedRows,
  provider: EmbeddingProvider,
  dimensions: number,
  embeddable: readonly ClaimedRow[],
  { budget: deadline, pacing }: { budget: Budget; pacing: Pacing },
): Promise<void> {
  for (const [index, row] of embeddable.entries()) {
    if (deadline.remainingMs() <= 0) {
      giveBack(result, embeddable.slice(index), null);
      return;
    }
    try {
      const [vector] = await embedTexts(provider, [row], deadline, pacing, result);
      accept(result, provider, row, vector, embeddingProblem(vector, dimensions));
    } catch (error) {
      const rowError = error as ProviderError;
      if (rowError.kind === "rejected_input") {
        result.failures.push({ key: row.key, error: rowError.message });
        continue;
      }
      // The provider itself failed: probing stops and the rest go back untried.
      giveBack(result, embeddable.slice(index), rowError);
      return;
    }
  }
}

/**
 * One request's rows; false when the run must stop (the provider failed, or time ran out), the
 * rows not embedded handed back untried. A request refused as too large is split in half and
 * each half sent again, no row charged; a text refused is found row by row.
 */
async function embedGroup(
  result: EmbeddedRows,
  provider: EmbeddingProvider,
  dimensions: number,
  group: readonly ClaimedRow[],
  paced: { budget: Budget; pacing: Pacing },
): Promise<boolean> {
  const error = await embedBatch(result, provider, dimensions, group, paced);
  if (error === null) return result.providerError === null;
  if (error.kind !== "rejected_input") {
    giveBack(result, group, error);
    return false;
  }
  if (group.length === 1) {
    result.failures.push({ key: group[0].key, error: error.message });
    return true;
  }
  if (refusedAsTooLarge(error.message)) {
    const half = Math.ceil(group.length / 2);
    if (!await embedGroup(result, provider, dimensions, group.slice(0, half), paced)) {
      result.untried.push(...group.slice(half));
      return false;
    }
    return await embedGroup(result, provider, dimensions, group.slice(half), paced);
  }
  await embedRowByRow(result, provider, dimensions, group, paced);
  return result.providerError === null && !result.outOfTime;
}

/** A row's estimated tokens as the provider is sent them (cut to its input limit). */
function sentTokens(provider: EmbeddingProvider, row: ClaimedRow): number {
  return estimateTokens(
    provider.inputLimit ? cutToInputLimit(row.content, provider.inputLimit) : row.content,
  );
}

/**
 * Embeds the rows in requests within `limits` (the provider's own by default), one after another:
 * once the run's time is spent, the rows of the requests not yet sent go back untried.
 */
export async function embedClaimedRows(
  provider: EmbeddingProvider,
  dimensions: number,
  rows: readonly ClaimedRow[],
  deadline: Budget,
  pacing: Pacing,
  limits: RequestLimits | undefined = provider.requestLimits,
): Promise<EmbeddedRows> {
  const result: EmbeddedRows = {
    embeddings: [],
    failures: [],
    untried: [],
    truncatedKeys: [],
    providerError: null,
    outOfTime: false,
    rateLimitWaits: 0,
    rateLimitWaitMs: 0,
  };
  const embeddable = rows.filter((row) => {
    const problem = contentProblem(row);
    if (problem) result.failures.push({ key: row.key, error: problem });
    return problem === null;
  });
  // Requests within the provider's per-request limits: a large batch of long texts is several.
  const groups = requestGroups(embeddable, (row) => sentTokens(provider, row), limits);
  const paced = { budget: deadline, pacing };
  for (const [index, group] of groups.entries()) {
    if (deadline.remainingMs() <= 0) {
      giveBack(result, groups.slice(index).flat(), null);
      break;
    }
    if (!await embedGroup(result, provider, dimensions, group, paced)) {
      result.untried.push(...groups.slice(index + 1).flat());
      break;
    }
  }
  return result;
}
