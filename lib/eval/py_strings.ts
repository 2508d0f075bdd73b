/**
 * The few Python `str` operations OLMo's task prompts use, with Python's semantics rather than
 * JavaScript's look-alikes: `strip()` removes exactly the characters `str.isspace()` accepts
 * (JavaScript's `trim` also removes U+FEFF and keeps U+001C–U+001F), `capitalize()` lowers the
 * rest of the string, and `s[:-1]` / `s[0]` count code points, not UTF-16 units.
 *
 * @module
 */

/** Python's `str.isspace()` characters. */
const PY_WHITESPACE = new Set(
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" +
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
);

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PY_WHITESPACE.has(s[start])) start++;
  while (end > start && PY_WHITESPACE.has(s[end - 1])) end--;
  return s.slice(start, end);
}

/** Python `s.capitalize()`: the first character upper-cased, every other one lower-cased. */
export function pyCapitalize(s: string): string {
  const chars = [...s];
  if (chars.length === 0) return s;
  return chars[0].toUpperCase() + chars.slice(1).join("").toLowerCase();
}

/** Python `s[0].lower() + s[1:]` (an empty string raises IndexError in Python, here too). */
export function pyLowerFirst(s: string): string {
  const chars = [...s];
  if (chars.length === 0) throw new Error("string index out of range (empty string)");
  return chars[0].toLowerCase() + chars.slice(1).join("");
}

/** Python `s[:-1]`: everything but the last code point. */
export function pyDropLast(s: string): string {
  return [...s].slice(0, -1).join("");
}

/** Python `len(s)`: the number of code points. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
