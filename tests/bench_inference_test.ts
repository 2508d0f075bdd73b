/**
 * The inference-only benchmark path (`bench-1b`) on a shrunken copy of its config: the suite
 * writes a `model.pt` with the project's torch.save writer, a fresh process loads it with
 * `Olmo.fromCheckpoint` and decodes, and the record, its table and the cleanup are right. (The
 * real 4.7 GB run belongs to `deno task bench --config bench-1b`, never to the test suite.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchRecord, formatReport, runBenchSuite } from "../lib/bench/mod.ts";
import { peakResidentBytes } from "../lib/bench/inference_bench.ts";

/** Edits of `bench-1b.yaml` that shrink it to a one-layer toy (same name: inference only). */
const SHRINK: [RegExp, string][] = [
  [/^ {2}d_model: \d+$/m, "  d_model: 32"],
  [/^ {2}n_layers: \d+$/m, "  n_layers: 1"],
  [/^ {2}n_heads: \d+$/m, "  n_heads: 2"],
  [/^ {2}max_sequence_length: \d+$/m, "  max_sequence_length: 128"],
  [/^ {2}vocab_size: \d+$/m, "  vocab_size: 60"],
  [/^ {2}embedding_size: \d+$/m, "  embedding_size: 64"],
  [/^ {2}eos_token_id: \d+$/m, "  eos_token_id: 59"],
];

Deno.test("bench-1b path: model.pt written, loaded in a fresh process, decoded", async () => {
  const source = fileURLToPath(new URL("../configs/bench/bench-1b.yaml", import.meta.url));
  let text = await Deno.readTextFile(source);
  for (const [re, line] of SHRINK) {
    assert.match(text, re, `bench-1b.yaml has no line like ${re}`);
    text = text.replace(re, line);
  }
  const dir = await Deno.makeTempDir({ prefix: "olmo-bench-inference-test-" });
  try {
    const path = join(dir, "bench-1b.yaml");
    await Deno.writeTextFile(path, text);
    const records: BenchRecord[] = [];
    await runBenchSuite({
      configs: [{ name: "bench-1b", path }],
      backends: ["cpu"],
      matmul: false,
      data: false,
    }, (r) => records.push(r));
    const notes = records.filter((r) => r.kind === "note");
    assert.deepEqual(notes, [], "no step may fail");
    const inference = records.find((r) => r.kind === "inference");
    assert.ok(inference?.kind === "inference", "an inference record");
    assert.equal(inference.config, "bench-1b");
    assert.equal(inference.backend, "cpu");
    assert.ok(!records.some((r) => r.kind === "train"), "bench-1b is not trained");
    // Tied embedding (64×32) + one block (att_proj 96×32, attn_out 32×32, ff_proj 256×32,
    // ff_out 32×128; no biases, non-affine norms), float32, plus the archive's records.
    const weights = 4 * (64 * 32 + 96 * 32 + 32 * 32 + 256 * 32 + 32 * 128);
    assert.ok(inference.checkpointBytes > weights && inference.checkpointBytes < weights + 65536);
    assert.ok(inference.loadSeconds > 0);
    assert.equal(inference.generation.length, 1);
    const g = inference.generation[0];
    assert.equal(g.contextLength, 64);
    assert.equal(g.newTokens, 16);
    assert.ok(g.prefillTokensPerSecond > 0 && g.decodeTokensPerSecond > 0);
    if (peakResidentBytes() !== null) {
      assert.ok(inference.peakRssBytes! >= inference.loadedRssBytes);
    }
    assert.match(formatReport(records), /checkpoint inference[^\n]*\n[^\n]*load s[^\n]*peak RSS/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
