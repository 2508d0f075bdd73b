/**
 * A run's `metrics.jsonl` as server-sent events: every complete line already there, then each
 * line the trainer appends (the file is polled; a half-written last line waits for its newline).
 * A file that shrinks (the run was restarted from scratch) sends a `reset` event and starts over.
 *
 * @module
 */

/** How often the file is looked at. */
export const METRICS_POLL_MS = 500;

const encoder = new TextEncoder();

/**
 * The event stream for `path` (which may not exist yet), until `signal` aborts. Each `data:`
 * event is one JSON line of the file.
 */
export function metricsEventStream(
  path: string,
  signal: AbortSignal,
  pollMs = METRICS_POLL_MS,
): ReadableStream<Uint8Array> {
  let offset = 0;
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const decoder = new TextDecoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const stop = () => {
        clearTimeout(timer);
        try {
          controller.close();
        } catch { /* already closed */ }
      };
      signal.addEventListener("abort", stop, { once: true });
      const poll = async () => {
        try {
          const chunk = await readFrom(path, offset);
          if (chunk === "reset") {
            offset = 0;
            pending = "";
            controller.enqueue(encoder.encode("event: reset\ndata: {}\n\n"));
          } else if (chunk.length > 0) {
            offset += chunk.length;
            pending += decoder.decode(chunk, { stream: true });
            const end = pending.lastIndexOf("\n");
            if (end >= 0) {
              const lines = pending.slice(0, end).split("\n").filter((l) => l.trim() !== "");
              pending = pending.slice(end + 1);
              if (lines.length > 0) {
                controller.enqueue(encoder.encode(lines.map((l) => `data: ${l}\n\n`).join("")));
              }
            }
          } else {
            // A comment line keeps proxies and the browser from timing the connection out.
            controller.enqueue(encoder.encode(": idle\n\n"));
          }
        } catch (e) {
          if (signal.aborted) return;
          controller.enqueue(
            encoder.encode(`event: failure\ndata: ${JSON.stringify((e as Error).message)}\n\n`),
          );
        }
        if (!signal.aborted) timer = setTimeout(poll, pollMs);
      };
      poll();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
}

/** The bytes of `path` from `offset` on; "reset" when the file got shorter; none if absent. */
async function readFrom(path: string, offset: number): Promise<Uint8Array | "reset"> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return offset > 0 ? "reset" : new Uint8Array(0);
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    if (size < offset) return "reset";
    const out = new Uint8Array(size - offset);
    await file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < out.length) {
      const n = await file.read(out.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return out.subarray(0, filled);
  } finally {
    file.close();
  }
}
