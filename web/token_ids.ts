/**
 * Token-id prompts, as `deno task generate --token-ids` takes them: non-negative integers
 * separated by commas and/or spaces.
 *
 * @module
 */

/** Parses "133 65 57" or "133,65,57". @throws Error naming the first part that is no id. */
export function parseTokenIds(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p !== "");
  if (parts.length === 0) throw new Error("the prompt holds no token ids");
  return parts.map((part) => {
    if (!/^\d+$/.test(part)) {
      throw new Error(`"${part}" is not a token id (a non-negative integer)`);
    }
    return Number(part);
  });
}
