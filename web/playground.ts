/**
 * The playground page: lists the served checkpoints (or takes dropped files), hands them to the
 * model worker, and shows the worker's progress, streamed tokens, tokens/s and next-token
 * distribution. The page's own thread only does UI work.
 *
 * @module
 */
/// <reference lib="dom" />
import type { CheckpointListing } from "../lib/serve/listings.ts";
import { element } from "./dom.ts";
import type {
  CheckpointSource,
  FromWorker,
  GenerationSettings,
  SamplerChoice,
  ToWorker,
} from "./worker_protocol.ts";

const worker = new Worker("/bundle/playground_worker.js", { type: "module" });
const ui = {
  backend: element("backend"),
  checkpoint: element<HTMLSelectElement>("checkpoint-select"),
  weights: element<HTMLSelectElement>("weights-select"),
  load: element<HTMLButtonElement>("load-button"),
  drop: element("drop-zone"),
  files: element<HTMLInputElement>("file-input"),
  progress: element<HTMLProgressElement>("progress"),
  status: element("status"),
  prompt: element<HTMLTextAreaElement>("prompt"),
  tokenIds: element<HTMLInputElement>("token-ids"),
  sampler: element<HTMLSelectElement>("sampler"),
  temperature: element<HTMLInputElement>("temperature"),
  k: element<HTMLInputElement>("top-k"),
  p: element<HTMLInputElement>("top-p"),
  beamSize: element<HTMLInputElement>("beam-size"),
  maxTokens: element<HTMLInputElement>("max-tokens"),
  seed: element<HTMLInputElement>("seed"),
  generate: element<HTMLButtonElement>("generate-button"),
  stop: element<HTMLButtonElement>("stop-button"),
  distribution: element<HTMLButtonElement>("distribution-button"),
  rate: element("rate"),
  output: element("output"),
  table: element<HTMLTableElement>("distribution"),
};
/** A backend forced with `?backend=webgl` (for comparing backends); else the first that starts. */
const forcedBackend = new URLSearchParams(location.search).get("backend");
const stopFlag = self.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
let served: CheckpointListing[] = [];
let busy = false;

function send(message: ToWorker): void {
  worker.postMessage(message);
}

function setStatus(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", error);
}

function setBusy(value: boolean, loaded = true): void {
  busy = value;
  ui.generate.disabled = value || !loaded;
  ui.distribution.disabled = value || !loaded;
  ui.load.disabled = value || served.length === 0;
  ui.stop.disabled = !value;
}

function settings(): GenerationSettings {
  return {
    prompt: ui.prompt.value,
    tokenIds: ui.tokenIds.checked,
    sampler: ui.sampler.value as SamplerChoice,
    temperature: Number(ui.temperature.value),
    k: Number(ui.k.value),
    p: Number(ui.p.value),
    beamSize: Number(ui.beamSize.value),
    maxTokens: Number(ui.maxTokens.value),
    seed: Number(ui.seed.value),
  };
}

function startLoad(source: CheckpointSource): void {
  setBusy(true, false);
  ui.stop.disabled = true;
  ui.progress.value = 0;
  ui.output.dataset.state = "";
  setStatus(`Loading ${source.label}…`);
  send({ type: "load", source, backend: forcedBackend });
}

function showWeightChoices(): void {
  const listing = served.find((c) => c.id === ui.checkpoint.value);
  ui.weights.replaceChildren(
    ...(listing?.weights ?? []).map((w) => new Option(w, w)),
  );
}

async function listServed(): Promise<void> {
  served = await (await fetch("/api/checkpoints")).json();
  ui.checkpoint.replaceChildren(...served.map((c) => new Option(c.label, c.id)));
  if (served.length === 0) ui.checkpoint.append(new Option("(no --checkpoint served)", ""));
  showWeightChoices();
  setBusy(false, false);
}

function loadServed(): void {
  const listing = served.find((c) => c.id === ui.checkpoint.value);
  if (!listing) return;
  const base = `/files/${listing.id}/`;
  ui.tokenIds.checked = !listing.tokenizer;
  startLoad({
    kind: "served",
    label: listing.label,
    configUrl: `${base}config.yaml`,
    weightsUrl: base + encodeURIComponent(ui.weights.value),
    tokenizerUrl: listing.tokenizer ? `/api/checkpoints/${listing.id}/tokenizer.json` : null,
  });
  if (!listing.tokenizer) setStatus(`Loading ${listing.label}… (${listing.tokenizerError})`);
}

/** The files of a drop, folders read recursively. */
async function droppedFiles(items: DataTransferItemList): Promise<File[]> {
  const files: File[] = [];
  const readEntry = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      files.push(
        await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail)),
      );
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      const entries = await new Promise<FileSystemEntry[]>((ok, fail) =>
        reader.readEntries(ok, fail)
      );
      for (const e of entries) await readEntry(e);
    }
  };
  const entries = [...items].map((i) => i.webkitGetAsEntry()).filter((e) => e !== null);
  for (const entry of entries) await readEntry(entry!);
  return files;
}

function loadFiles(files: File[]): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  const config = byName.get("config.yaml");
  const weights = byName.get("model.safetensors") ?? byName.get("model.pt");
  if (!config || !weights) {
    setStatus(
      `Need config.yaml and model.safetensors or model.pt; got ${
        [...byName.keys()].join(", ") || "nothing"
      }`,
      true,
    );
    return;
  }
  const tokenizer = byName.get("tokenizer.json") ?? null;
  ui.tokenIds.checked = tokenizer === null;
  startLoad({ kind: "files", label: `dropped ${weights.name}`, config, weights, tokenizer });
}

/** 1234 → "1.2 k", 12345678 → "12.3 M". */
function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

function showDistribution(entries: { id: number; token: string; probability: number }[]): void {
  const rows = entries.map((e) => {
    const tr = document.createElement("tr");
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${Math.max(1, e.probability * 200)}px`;
    const cells = [String(e.id), JSON.stringify(e.token), `${(e.probability * 100).toFixed(2)}%`];
    for (const c of cells) {
      tr.append(Object.assign(document.createElement("td"), { textContent: c }));
    }
    const barCell = document.createElement("td");
    barCell.append(bar);
    tr.append(barCell);
    return tr;
  });
  const head = document.createElement("tr");
  for (const h of ["id", "token", "probability", ""]) {
    head.append(Object.assign(document.createElement("th"), { textContent: h }));
  }
  ui.table.replaceChildren(head, ...rows);
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case "backend":
      ui.backend.textContent = `backend: ${m.name}`;
      ui.backend.dataset.backend = m.name;
      break;
    case "progress":
      ui.progress.max = m.total || 1;
      ui.progress.value = m.total ? m.loaded : 0;
      setStatus(
        `Loading ${m.what}: ${(m.loaded / 1e6).toFixed(1)} MB${
          m.total ? ` of ${(m.total / 1e6).toFixed(1)} MB` : ""
        }`,
      );
      break;
    case "loaded":
      ui.progress.value = ui.progress.max;
      setStatus(
        `Loaded ${m.label} (${m.weightsFile}, ${formatCount(m.numParams)} parameters, ` +
          `vocabulary ${m.vocabSize}${m.tokenizer ? "" : ", no tokenizer: prompts are token ids"})`,
      );
      document.body.dataset.loaded = m.label;
      setBusy(false, true);
      break;
    case "token":
      ui.output.append(m.text);
      ui.rate.textContent = `${m.count} tokens · ${m.tokensPerSecond.toFixed(1)} tokens/s`;
      break;
    case "done":
      ui.output.textContent = "";
      ui.output.append(
        Object.assign(document.createElement("span"), {
          className: "prompt",
          textContent: ui.prompt.value,
        }),
        " → ",
        m.text,
      );
      ui.output.dataset.text = m.text;
      ui.output.dataset.tokenIds = m.tokenIds.join(" ");
      ui.output.dataset.state = m.stopped ? "stopped" : "done";
      ui.output.dataset.liveTensors = String(m.liveTensors);
      ui.rate.textContent =
        `${m.tokenIds.length} tokens · ${m.tokensPerSecond.toFixed(1)} tokens/s` +
        (m.stopped ? " · stopped" : "");
      setBusy(false);
      break;
    case "distribution":
      showDistribution(m.entries);
      ui.table.dataset.state = "done";
      setBusy(false);
      break;
    case "error":
      setStatus(m.message, true);
      ui.output.dataset.state = "error";
      setBusy(false, document.body.dataset.loaded !== undefined);
      break;
  }
};

worker.onerror = (event) => {
  setStatus(`The model worker failed: ${event.message}`, true);
  setBusy(false, false);
};
ui.checkpoint.onchange = showWeightChoices;
ui.load.onclick = loadServed;
ui.files.onchange = () => loadFiles([...(ui.files.files ?? [])]);
ui.drop.ondragover = (e) => {
  e.preventDefault();
  ui.drop.classList.add("over");
};
ui.drop.ondragleave = () => ui.drop.classList.remove("over");
ui.drop.ondrop = async (e) => {
  e.preventDefault();
  ui.drop.classList.remove("over");
  if (e.dataTransfer) loadFiles(await droppedFiles(e.dataTransfer.items));
};
ui.generate.onclick = () => {
  if (busy) return;
  setBusy(true);
  ui.output.replaceChildren(
    Object.assign(document.createElement("span"), {
      className: "prompt",
      textContent: ui.prompt.value,
    }),
    " → ",
  );
  ui.output.dataset.state = "running";
  ui.rate.textContent = "";
  if (stopFlag) Atomics.store(stopFlag, 0, 0);
  send({ type: "generate", settings: settings(), stopFlag });
};
ui.stop.onclick = () => {
  if (stopFlag) Atomics.store(stopFlag, 0, 1);
  send({ type: "stop" });
};
ui.distribution.onclick = () => {
  setBusy(true);
  ui.table.dataset.state = "running";
  send({ type: "distribution", settings: settings() });
};

listServed().catch((e) => setStatus(`Cannot list checkpoints: ${(e as Error).message}`, true));
