// Embeds a claimed batch of a chunked target: cuts each row's text into chunks the model reads whole, embeds them through the same paced, token-sized requests as whole rows (embed_claimed_rows.ts), and gives each row every chunk's vector, or fails it on a chunk that failed.
import { type ChunkingOptions, chunkText, type TextChunk } from "./chunking/chunk_text.ts";
import { contentProblem, hasMeaning } from "./content_checks.ts";
import { embedClaimedRows, type EmbeddedRows, type Pacing } from "./embed_claimed_rows.ts";
import { errorMessage } from "./error_message.ts";
import type { EmbeddingProvider } from "./providers/embedding_provider.ts";
import { exceedsInputLimit } from "./providers/input_limit.ts";
import type { RequestLimits } from "./providers/request_limits.ts";
import type { RunDeadline } from "./run_deadline.ts";
import { cappedChunking } from "./target_chunking.ts";
import type { ClaimedRow, EmbeddedChunk, RowChunks, RowFailure } from "./target_queue.ts";

/**
 * Requests of a provider that sets no limit of its own (a local model, computing in this
 * process): a batch of long rows is many chunks, and in requests of this many the run's time
 * budget is checked between them, so the rows embedded before it ran out are written and only
 * the rest go back, instead of one call for every chunk failing whole on the budget.
 */
const chunkRequestLimits: RequestLimits = { maxInputs: 32, maxTokens: Number.POSITIVE_INFINITY };

/** A claimed row cut into chunks, or why it cannot be (its own fault: it costs an attempt). */
type CutRow = { row: ClaimedRow; chunks: TextChunk[] } | { row: ClaimedRow; failure: string };

/** One chunk to embed: its row's position in the batch, and the chunk. */
interface Piece {
  row: number;
  chunk: TextChunk;
}

function span(chunk: TextChunk): string {
  return `chunk ${chunk.index} (characters ${chunk.start} to ${chunk.end})`;
}

/**
 * The row's chunks: none for a blank text (written with no chunks); a chunk with no letter or
 * digit (a rule of dashes, say) carries nothing to find and is left out, the rest numbered again
 * from 0. A chunk longer than the model reads fails the row rather than be cut by the provider.
 */
function cutRow(row: ClaimedRow, options: ChunkingOptions, provider: EmbeddingProvider): CutRow {
  // claim_batch gives a null text no hash (md5 is never ""): there is no text to check it against.
  if (row.contentError === null && row.contentHash === "") {
    return {
      row,
      failure:
        "the content function returned null: a chunked target records an empty text with no chunks, not a null one (return coalesce(..., '') for a row with no text)",
    };
  }
  if (row.contentError === null && row.content.trim() === "") return { row, chunks: [] };
  const problem = contentProblem(row);
  if (problem !== null) return { row, failure: problem };
  let chunks: TextChunk[];
  try {
    chunks = chunkText(row.content, options)
      .filter((chunk) => hasMeaning(chunk.text))
      .map((chunk, index) => ({ ...chunk, index }));
  } catch (error) {
    return { row, failure: `the text could not be cut into chunks: ${errorMessage(error)}` };
  }
  const tooLong = chunks.find((chunk) => exceedsInputLimit(chunk.text, provider.inputLimit));
  if (tooLong !== undefined) {
    return {
      row,
      failure: `${
        span(tooLong)
      } is ${tooLong.text.length} characters, more than ${provider.model} reads (${provider.inputLimit?.description}); it is not cut, and the row is not written`,
    };
  }
  return { row, chunks };
}

/** The first failure of each row's chunks, by the row's position, with how many chunks failed. */
function chunkFailures(
  pieces: readonly Piece[],
  failures: readonly RowFailure[],
): Map<number, string> {
  const byRow = new Map<number, { first: string; count: number }>();
  for (const failure of failures) {
    const piece = pieces[Number(failure.key)];
    const seen = byRow.get(piece.row);
    if (seen) seen.count += 1;
    else byRow.set(piece.row, { first: `${span(piece.chunk)}: ${failure.error}`, count: 1 });
  }
  return new Map(
    [...byRow].map(([row, { first, count }]) => [
      row,
      count > 1 ? `${first} (and ${count - 1} more of its chunks failed)` : first,
    ]),
  );
}

/** Each row's outcome from its chunks': failed if one failed, untried if one was, else written. */
function assemble(
  cut: readonly CutRow[],
  pieces: readonly Piece[],
  embedded: EmbeddedRows,
): EmbeddedRows<RowChunks> {
  const result: EmbeddedRows<RowChunks> = {
    embeddings: [],
    failures: [],
    untried: [],
    truncatedKeys: [],
    providerError: embedded.providerError,
    outOfTime: embedded.outOfTime,
    rateLimitWaits: embedded.rateLimitWaits,
    rateLimitWaitMs: embedded.rateLimitWaitMs,
  };
  const failed = chunkFailures(pieces, embedded.failures);
  const vectors = new Map(embedded.embeddings.map((row) => [Number(row.key), row.embedding]));
  const chunksOf = cut.map((): EmbeddedChunk[] | null => []);
  pieces.forEach((piece, position) => {
    const vector = vectors.get(position);
    // A chunk neither embedded nor failed went back untried: so does its row.
    if (vector === undefined) chunksOf[piece.row] = null;
    else chunksOf[piece.row]?.push({ ...piece.chunk, embedding: vector });
  });
  cut.forEach((item, index) => {
    const failure = "failure" in item ? item.failure : failed.get(index);
    const chunks = chunksOf[index];
    if (failure !== undefined) result.failures.push({ key: item.row.key, error: failure });
    else if (chunks === null) result.untried.push(item.row);
    else result.embeddings.push({ key: item.row.key, contentHash: item.row.contentHash, chunks });
  });
  return result;
}

/**
 * Embeds a chunked target's claimed rows: the chunk size is capped at the provider's input limit,
 * so `truncatedKeys` is always empty. Rows untried for the provider or the time are handed back
 * by the caller, as for whole rows.
 */
export async function embedClaimedChunks(
  provider: EmbeddingProvider,
  dimensions: number,
  chunking: ChunkingOptions,
  rows: readonly ClaimedRow[],
  deadline: Pick<RunDeadline, "signal" | "remainingMs">,
  pacing: Pacing,
): Promise<EmbeddedRows<RowChunks>> {
  const options = cappedChunking(chunking, provider.inputLimit);
  const cut = rows.map((row) => cutRow(row, options, provider));
  const pieces = cut.flatMap((item, row) =>
    "chunks" in item ? item.chunks.map((chunk): Piece => ({ row, chunk })) : []
  );
  // Each chunk is embedded as a row of its own, keyed by its position among the pieces.
  const chunkRows = pieces.map((piece, position): ClaimedRow => ({
    key: String(position),
    content: piece.chunk.text,
    contentHash: "",
    contentError: null,
  }));
  const embedded = await embedClaimedRows(
    provider,
    dimensions,
    chunkRows,
    deadline,
    pacing,
    provider.requestLimits ?? chunkRequestLimits,
  );
  return assemble(cut, pieces, embedded);
}
