/**
 * Reads a whole download or dropped file into memory while reporting how far it got, for the
 * playground's progress bar.
 *
 * @module
 */

/** Called with bytes read so far and the total (0 when unknown). */
export type ProgressCallback = (loaded: number, total: number) => void;

async function readStream(
  stream: ReadableStream<Uint8Array>,
  total: number,
  onProgress: ProgressCallback,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Downloads `url`.
 * @throws Error naming the URL and the HTTP status when the server does not answer 200.
 */
export async function fetchBytes(url: string, onProgress: ProgressCallback): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || response.body === null) {
    throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get("content-length") ?? 0);
  return readStream(response.body, total, onProgress);
}

/** Reads a `File` (or any `Blob`). */
export function readBlob(blob: Blob, onProgress: ProgressCallback): Promise<Uint8Array> {
  return readStream(blob.stream(), blob.size, onProgress);
}

/** Downloads `url` as text. @throws Error naming the URL and status unless it answers 200. */
export async function fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return response.text();
}
