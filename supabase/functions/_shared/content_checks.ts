// Decides whether a claimed row has text worth embedding: a row whose content function raised, or whose text is empty in meaning, fails by itself before any provider call.
import type { ClaimedRow } from "./target_queue.ts";

/** A letter or a digit of any script: what makes a text mean something to a model. */
const meaningfulCharacter = /[\p{L}\p{N}]/u;

/** Whether a text holds a letter or a digit: anything a model can give a meaning to. */
export function hasMeaning(text: string): boolean {
  return meaningfulCharacter.test(text);
}

/** The text as a JSON string with invisible characters (\p{Cf}, controls) spelled out, shortened. */
function visible(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
  return JSON.stringify(shown).replace(
    /[\p{Cf}\p{Cc}]/gu,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Why the row cannot be embedded, or null when it can. Each reason is the row's own: it costs
 * the row an attempt. Text with no letter or digit (only whitespace, punctuation, symbols such
 * as emoji, or format characters such as zero-width spaces) would get the same vector as every
 * other such text, so it is refused rather than embedded.
 */
export function contentProblem(row: ClaimedRow): string | null {
  if (row.contentError !== null) return row.contentError;
  if (row.content.trim() === "") return "content is empty: there is no text to embed";
  if (!hasMeaning(row.content)) {
    return `content ${
      visible(row.content)
    } has nothing to embed: no letter or digit, only whitespace, punctuation, symbols or invisible format characters`;
  }
  return null;
}
