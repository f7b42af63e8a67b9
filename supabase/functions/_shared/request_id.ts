// The id of one request, answered with every error (body and x-request-id header) and written on every log line about it: the caller quotes it, the operator finds the details.

export function newRequestId(): string {
  return crypto.randomUUID();
}

/** One log line: what failed, under the request's id, with everything the caller was not told. */
export function logFailure(
  functionName: string,
  requestId: string,
  what: string,
  detail: unknown,
): void {
  console.error(`${functionName} [request ${requestId}] ${what}:`, detail);
}
