/**
 * Headless chromium for the browser tests, driven by playwright-core in a subprocess
 * (`_browser_driver.ts`, see there why), with the page calls the tests use.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** A browser running in the driver process. */
export class RemoteBrowser {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  #nextId = 0;
  readonly #stderr: Promise<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#stderr = new Response(child.stderr).text();
    this.#readAnswers();
  }

  /** Starts `executable` headless with `args` (no browser is ever downloaded). */
  static launch(executable: string, args: readonly string[]): RemoteBrowser {
    const driver = fileURLToPath(new URL("./_browser_driver.ts", import.meta.url));
    const config = fileURLToPath(new URL("../deno.json", import.meta.url));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", config, driver, executable, ...args],
      env: { NO_COLOR: "1", PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new RemoteBrowser(child);
  }

  async #readAnswers(): Promise<void> {
    let buffered = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf("\n")) >= 0) {
        const answer = JSON.parse(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
        const waiting = this.#pending.get(answer.id);
        this.#pending.delete(answer.id);
        if (answer.error !== undefined) waiting?.fail(new Error(answer.error));
        else waiting?.ok(answer.result);
      }
    }
    const stderr = await this.#stderr;
    for (const waiting of this.#pending.values()) {
      waiting.fail(new Error(`the browser driver exited: ${stderr}`));
    }
  }

  /** Sends one request to the driver and waits for its answer. */
  call(op: string, page: number | null, ...args: unknown[]): Promise<unknown> {
    const id = this.#nextId++;
    const answer = new Promise<unknown>((ok, fail) => this.#pending.set(id, { ok, fail }));
    const line = JSON.stringify({ id, op, page, args }) + "\n";
    this.#writer.write(new TextEncoder().encode(line));
    return answer;
  }

  /** A new page of `width`×`height` whose waits time out after `timeoutMs`. */
  async newPage(width: number, height: number, timeoutMs: number): Promise<RemotePage> {
    return new RemotePage(
      this,
      (await this.call("newPage", null, width, height, timeoutMs)) as number,
    );
  }

  /** Uncaught errors of every page so far. */
  async pageErrors(): Promise<string[]> {
    return (await this.call("pageErrors", null)) as string[];
  }

  /** Closes the browser and ends the driver. */
  async close(): Promise<void> {
    await this.#writer.close();
    await this.#child.status;
    await this.#stderr;
  }
}

/** A page in the driver's browser: playwright's `Page` calls the tests use. */
export class RemotePage {
  constructor(readonly browser: RemoteBrowser, readonly id: number) {}

  #call(op: string, ...args: unknown[]): Promise<unknown> {
    return this.browser.call(op, this.id, ...args);
  }

  /** Opens `url`. */
  async goto(url: string): Promise<void> {
    await this.#call("goto", url);
  }
  /** Waits for `selector` (visible, or only `attached`). */
  async waitForSelector(selector: string, options?: { state?: "attached" }): Promise<void> {
    await this.#call("waitForSelector", selector, options);
  }
  /** Picks `value` in a `<select>`. */
  async selectOption(selector: string, value: string): Promise<void> {
    await this.#call("selectOption", selector, value);
  }
  /** Clicks. */
  async click(selector: string): Promise<void> {
    await this.#call("click", selector);
  }
  /** Types `value` into an input. */
  async fill(selector: string, value: string): Promise<void> {
    await this.#call("fill", selector, value);
  }
  /** Checks or unchecks a checkbox. */
  async setChecked(selector: string, checked: boolean): Promise<void> {
    await this.#call("setChecked", selector, checked);
  }
  /** An attribute's value. */
  async getAttribute(selector: string, name: string): Promise<string | null> {
    return (await this.#call("getAttribute", selector, name)) as string | null;
  }
  /** An element's text. */
  async textContent(selector: string): Promise<string | null> {
    return (await this.#call("textContent", selector)) as string | null;
  }
  /** The value of the JavaScript expression `js` in the page (awaited when a promise). */
  async evaluate<T>(js: string): Promise<T> {
    return (await this.#call("evaluate", js)) as T;
  }
  /** Waits until the JavaScript expression `js` is truthy in the page. */
  async waitForFunction(js: string): Promise<void> {
    await this.#call("waitForFunction", js);
  }
  /** Sets the files of a file input (as if picked). */
  async setInputFiles(selector: string, paths: string[]): Promise<void> {
    await this.#call("setInputFiles", selector, paths);
  }
  /** Saves a PNG of the viewport. */
  async screenshot(options: { path: string }): Promise<void> {
    await this.#call("screenshot", options.path);
  }
  /** Closes the page. */
  async close(): Promise<void> {
    await this.#call("close");
  }
}
