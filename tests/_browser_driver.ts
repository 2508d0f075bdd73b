/**
 * Runs headless chromium through playwright-core in its own process, for `_browser.ts`: one JSON
 * request per stdin line (`{id, op, page, args}`), one JSON answer per stdout line
 * (`{id, result}` or `{id, error}`). playwright's start-up changes process state (it deletes
 * `process.env.DEBUG`), which test files, running in one process, may not do.
 *
 * Usage: `deno run -A tests/_browser_driver.ts EXECUTABLE [CHROMIUM_FLAG ...]`
 *
 * @module
 */
import { chromium, type Page } from "playwright-core";

const [executablePath, ...args] = Deno.args;
const browser = await chromium.launch({ executablePath, args });
const pages = new Map<number, Page>();
const pageErrors: string[] = [];
let nextPage = 0;

/** What each operation does; `page` ops get the page, then the request's args. */
async function perform(op: string, pageId: number | null, a: unknown[]): Promise<unknown> {
  if (op === "newPage") {
    const [width, height, timeout] = a as number[];
    const page = await browser.newPage({ viewport: { width, height } });
    page.setDefaultTimeout(timeout);
    page.on("pageerror", (e) => pageErrors.push(e.message));
    pages.set(nextPage, page);
    return nextPage++;
  }
  if (op === "pageErrors") return pageErrors;
  const page = pages.get(pageId ?? -1);
  if (!page) throw new Error(`no page ${pageId}`);
  const [x, y] = a as [string, unknown];
  switch (op) {
    case "goto":
      return void await page.goto(x);
    case "waitForSelector":
      return void await page.waitForSelector(x, (y ?? undefined) as { state?: "attached" });
    case "selectOption":
      return void await page.selectOption(x, y as string);
    case "click":
      return await page.click(x);
    case "fill":
      return await page.fill(x, y as string);
    case "setChecked":
      return await page.setChecked(x, y as boolean);
    case "getAttribute":
      return await page.getAttribute(x, y as string);
    case "textContent":
      return await page.textContent(x);
    case "evaluate":
      return await page.evaluate(x);
    case "waitForFunction":
      return void await page.waitForFunction(x);
    case "setInputFiles":
      return await page.setInputFiles(x, y as string[]);
    case "screenshot":
      return void await page.screenshot({ path: x });
    case "close":
      pages.delete(pageId!);
      return await page.close();
  }
  throw new Error(`unknown operation ${op}`);
}

const encoder = new TextEncoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += chunk;
  let end: number;
  while ((end = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    if (line.trim() === "") continue;
    const { id, op, page, args: a } = JSON.parse(line);
    let answer: { id: number; result?: unknown; error?: string };
    try {
      answer = { id, result: await perform(op, page, a) };
    } catch (e) {
      answer = { id, error: (e as Error).message };
    }
    await Deno.stdout.write(encoder.encode(JSON.stringify(answer) + "\n"));
  }
}
await browser.close();
