/**
 * DOM look-ups shared by the pages.
 *
 * @module
 */
/// <reference lib="dom" />

/** The element with `id`. @throws Error naming the id when the page has none. */
export function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}
