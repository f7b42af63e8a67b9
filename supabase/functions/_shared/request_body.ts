// Reads a request body up to a limit, never more: a body over it is refused without being read whole.

/** The largest body the embed function reads: run options fit in a few hundred bytes. */
export const maxRequestBodyBytes = 64 * 1024;

export type RequestBody =
  | { ok: true; text: string }
  | { ok: false; status: 400 | 413; error: string };

function tooLarge(limit: number, size: string): RequestBody {
  return {
    ok: false,
    status: 413,
    error: `body of ${size} is over the limit of ${limit} bytes; run options fit in a few hundred`,
  };
}

/**
 * The body as UTF-8 text. Content-Length over the limit is refused before reading; without it
 * (or when it lies), bytes are counted as they arrive and the stream is cancelled past the limit.
 */
export async function readRequestBody(
  request: Request,
  limit = maxRequestBodyBytes,
): Promise<RequestBody> {
  const declared = Number(request.headers.get("content-length") ?? "");
  if (request.headers.has("content-length") && Number.isFinite(declared) && declared > limit) {
    await request.body?.cancel().catch(() => {});
    return tooLarge(limit, `${declared} bytes (Content-Length)`);
  }
  if (request.body === null) return { ok: true, text: "" };

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return tooLarge(limit, `more than ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    return {
      ok: false,
      status: 400,
      error: `the body could not be read: ${(error as Error).message}`,
    };
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, status: 400, error: "body is not valid UTF-8 text" };
  }
}
