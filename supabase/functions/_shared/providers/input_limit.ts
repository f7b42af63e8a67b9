// How much text a model reads: each provider declares its limit, so the worker can report texts cut to it instead of letting them be cut silently.

export interface InputLimit {
  /**
   * Texts longer than this many characters (UTF-16 code units, as String.length counts) are cut:
   * by the provider before sending, or by the model itself (then an estimate, see description).
   */
  maxCharacters: number;
  /** The limit in the model's own unit, for the report: "8,000 characters", "512 tokens (...)". */
  description: string;
}

/** The text cut to the limit, never in the middle of a surrogate pair. */
export function cutToInputLimit(text: string, limit: InputLimit): string {
  if (text.length <= limit.maxCharacters) return text;
  const end = limit.maxCharacters;
  const last = text.charCodeAt(end - 1);
  // A high surrogate last would leave half a character.
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end);
}

/** Whether the model reads less than the whole text. */
export function exceedsInputLimit(text: string, limit: InputLimit | undefined): boolean {
  return limit !== undefined && text.length > limit.maxCharacters;
}
