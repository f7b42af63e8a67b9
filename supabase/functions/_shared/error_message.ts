// The text of a thrown value, whatever was thrown, for reports that say what failed.

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
