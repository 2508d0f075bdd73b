/**
 * The `generate` command (its argument parsing is in `generate_cli_args_test.ts`): text output
 * streamed token by token on the shared reference model (its after-training weights, which
 * `generate.json` was recorded with, plus a word-level tokenizer so ids map to text one to one); `--token-ids` on OLMo's own `model.pt`
 * fixtures, which have a toy vocabulary and no tokenizer; a checkpoint written by `deno task
 * train`; a checkpoint URL; seeded sampling.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { stringify as stringifyYaml } from "yaml";
import { parseGenerateArgs } from "../cli/generate.ts";
import { generateText } from "../lib/facade/generate_text.ts";
import { loadModelCheckpoint } from "../lib/checkpoint/load_model.ts";
import { readSafetensors, writeSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { defaultModelConfig, type ModelConfig } from "../lib/config/mod.ts";
import { generate } from "../lib/generate/generate.ts";
import { Olmo } from "../lib/facade/olmo.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { assertExit, runCli } from "./_cli.ts";
import { FIXTURES_DIR, HAS_SHARED, referenceCaseDir, REPO_ROOT } from "./_shared.ts";
import { makeTinyEnv, wordLevelTokenizerJson, writeTinyConfigYaml } from "./_train_fixture.ts";

tf.env().set("PROD", true);

/** The reference outputs of one case's `generate.json` that these tests use. */
interface GenerateFixture {
  prompt: number[][];
  token_ids: number[][][];
  greedy: { prompt: number[][]; token_ids: number[][][] };
}

async function readGenerateFixture(name: string): Promise<GenerateFixture> {
  return JSON.parse(await Deno.readTextFile(join(referenceCaseDir(name), "generate.json")));
}

/** The word-level tokenizer's text for ids: `w{id}` joined by spaces. */
function words(ids: number[]): string {
  return ids.map((id) => `w${id}`).join(" ");
}

/**
 * Writes an olmo-ts checkpoint of a reference case into `dir`: its `config.yaml`, the
 * after-training weights of `train_step.safetensors` as `model.safetensors` (the weights
 * `generate.json` was recorded with, see generate_test.ts) and a word-level `tokenizer.json`
 * over the 250-token vocabulary (`w0` … `w249`).
 */
async function writeReferenceCheckpoint(name: string, dir: string): Promise<void> {
  const caseDir = referenceCaseDir(name);
  await Deno.copyFile(join(caseDir, "config.yaml"), join(dir, "config.yaml"));
  const trainStep = (await readSafetensors(join(caseDir, "train_step.safetensors"))).tensors;
  const after = new Map(
    [...trainStep].filter(([k]) => k.startsWith("after.")).map(([k, v]) => [k.slice(6), v]),
  );
  await writeSafetensors(join(dir, "model.safetensors"), after);
  await Deno.writeTextFile(join(dir, "tokenizer.json"), wordLevelTokenizerJson(250));
}

/** One `write` of the command and how many forward passes had run by then. */
interface Piece {
  text: string;
  forwards: number;
}

/** Runs the command in-process, recording each written piece with the forward-pass count. */
async function runRecorded(args: string[]): Promise<Piece[]> {
  const opts = parseGenerateArgs([...args, "--backend", "cpu"]);
  const pieces: Piece[] = [];
  const forward = Olmo.prototype.forward;
  let forwards = 0;
  Olmo.prototype.forward = function (this: Olmo, ...forwardArgs: Parameters<Olmo["forward"]>) {
    forwards++;
    return forward.apply(this, forwardArgs);
  };
  try {
    await generateText(opts!, (text) => pieces.push({ text, forwards }));
  } finally {
    Olmo.prototype.forward = forward;
  }
  return pieces;
}

/** Asserts greedy output streamed one piece per generated token, each right after its step. */
function assertStreamed(pieces: Piece[], expectedPieces: string[]): void {
  assert.deepEqual(
    pieces,
    expectedPieces.map((text, i) => ({
      text,
      forwards: Math.min(i + 1, expectedPieces.length - 1),
    })),
  );
}

/** Greedy continuation by full forward passes over the growing sequence (no cache, no search). */
async function greedyByFullForward(
  model: Olmo,
  prompt: number[],
  maxSteps: number,
): Promise<number[]> {
  const sequence = [...prompt];
  for (let step = 0; step < maxSteps; step++) {
    const ids = tf.tensor2d([sequence], undefined, "int32");
    const { logits } = model.forward(ids);
    const last = ((await logits.array()) as number[][][])[0][sequence.length - 1];
    tf.dispose([ids, logits]);
    const next = last.indexOf(Math.max(...last));
    sequence.push(next);
    if (next === model.config.eos_token_id) break;
  }
  return sequence.slice(prompt.length);
}

Deno.test({
  name: "generate command on the reference models: OLMo's tokens, streamed token by token",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo_generate_cli_" });
    try {
      for (const name of ["rope-swiglu-seq", "alibi-mqa-parallel-gelu"]) {
        await writeReferenceCheckpoint(name, dir);
        const fixture = await readGenerateFixture(name);
        const common = ["--checkpoint", dir, "--max-steps", "6"];

        // Greedy, text in and out: one piece per token, written as soon as its step ran.
        const greedy = fixture.greedy.token_ids[0][0];
        assert.ok(!greedy.includes(249), "the fixture's greedy sequence has no EOS");
        const streamed = await runRecorded([...common, words(fixture.greedy.prompt[0])]);
        assertStreamed(streamed, [...greedy.map((id, i) => (i ? " " : "") + `w${id}`), "\n"]);

        // Beam 3, token ids in and out: the best beam, written once at the end.
        const beam = await runRecorded([
          ...common,
          "--beam-size",
          "3",
          "--token-ids",
          fixture.prompt[0].join(","),
        ]);
        assert.deepEqual(beam, [{ text: `${fixture.token_ids[0][0].join(" ")}\n`, forwards: 6 }]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "generate command on OLMo's model.pt fixture: --token-ids, and a clear error for text",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo_generate_pt_" });
    const cache = await Deno.makeTempDir({ prefix: "olmo_generate_cache_" });
    try {
      // Exactly OLMo's checkpoint files: config.yaml (tokenizer "gpt2", vocab 250) and model.pt.
      const caseDir = referenceCaseDir("rope-swiglu-seq");
      for (const file of ["config.yaml", "model.pt"]) {
        await Deno.symlink(join(caseDir, file), join(dir, file));
      }
      // No tokenizer cache and an unreachable hub: nothing is downloaded.
      const env = {
        OLMO_TS_CACHE: cache,
        HF_HOME: cache,
        HF_ENDPOINT: "http://127.0.0.1:9",
        NO_COLOR: "1",
      };
      const prompt = [133, 65, 57, 6, 38, 177, 81, 168];
      const ids = await runCli(
        "generate.ts",
        [
          "--checkpoint",
          dir,
          "--max-steps",
          "6",
          "--backend",
          "cpu",
          "--token-ids",
          prompt.join(" "),
        ],
        env,
      );
      assertExit(ids, 0);
      // The reference: greedy decoding by full forward passes of the same weights read from
      // model.safetensors (no model.pt reader, KV cache or beam search involved).
      const checkpoint = await loadModelCheckpoint(caseDir);
      const model = new Olmo(checkpoint.config, { init: false });
      model.loadStateDict(checkpoint.state);
      const expected = await greedyByFullForward(model, prompt, 6);
      model.dispose();
      assert.equal(ids.stdout, `${expected.join(" ")}\n`);

      const text = await runCli(
        "generate.ts",
        ["--checkpoint", dir, "--max-steps", "6", "--backend", "cpu", "hello"],
        env,
      );
      assertExit(text, 1);
      assert.match(text.stderr, /cannot load the tokenizer of .*"gpt2"[^]*--token-ids/);

      const outOfVocab = await runCli(
        "generate.ts",
        ["--checkpoint", dir, "--backend", "cpu", "--token-ids", "3 250"],
        env,
      );
      assertExit(outOfVocab, 1);
      assert.match(outOfVocab.stderr, /token id 250 is outside the model's vocabulary/);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test("generate command on a checkpoint written by deno task train", async () => {
  const env = await makeTinyEnv();
  try {
    const config = join(env.dir, "tiny.yaml");
    await writeTinyConfigYaml(env, config, join(env.dir, "run"), {
      max_duration: 2,
      save_interval: 1000,
      save_interval_unsharded: 2,
    });
    const train = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(REPO_ROOT, "cli", "train.ts"), config],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(train.code, 0, new TextDecoder().decode(train.stderr));
    const checkpoint = join(env.dir, "run", "latest-unsharded");

    // Its config.yaml names the run's tokenizer, which the command loads from there.
    const tokenizer = Tokenizer.fromFile(env.tokenizer);
    const prompt = "w5 w6 w7";
    const model = await Olmo.fromCheckpoint(checkpoint, { backend: "cpu" });
    const continuation = await greedyByFullForward(
      model,
      tokenizer.encode(prompt, { addSpecialTokens: false }),
      8,
    );
    model.dispose();
    const eos = continuation.indexOf(63);
    const expected = tokenizer.decode(eos >= 0 ? continuation.slice(0, eos) : continuation);

    const greedy = await runCli("generate.ts", [
      "--checkpoint",
      checkpoint,
      "--max-steps",
      "8",
      "--backend",
      "cpu",
      prompt,
    ]);
    assertExit(greedy, 0);
    assert.equal(greedy.stdout, `${expected}\n`);

    const beam = await runCli("generate.ts", [
      "--checkpoint",
      checkpoint,
      "--beam-size",
      "3",
      "--no-repeat-ngram-size",
      "2",
      "--backend",
      "cpu",
      prompt,
    ]);
    assertExit(beam, 0);
    assert.match(beam.stdout, /^(w\d+( w\d+)*)?\n$/);
  } finally {
    await Deno.remove(env.dir, { recursive: true });
  }
});

Deno.test({
  name: "generate command on a checkpoint URL (downloaded into the cache)",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo_generate_url_" });
    const cache = await Deno.makeTempDir({ prefix: "olmo_generate_cache_" });
    const served: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const file = new URL(req.url).pathname.replace(/^\/ckpt\//, "");
      served.push(file);
      return Deno.readFile(join(dir, file)).then(
        (bytes) => new Response(bytes),
        () => new Response("not found", { status: 404 }),
      );
    });
    try {
      await writeReferenceCheckpoint("rope-swiglu-seq", dir);
      const fixture = await readGenerateFixture("rope-swiglu-seq");
      const url = `http://127.0.0.1:${server.addr.port}/ckpt/`;
      const run = await runCli(
        "generate.ts",
        ["--checkpoint", url, "--max-steps", "6", "--backend", "cpu", words(fixture.prompt[0])],
        { OLMO_TS_CACHE: cache, NO_COLOR: "1" },
      );
      assertExit(run, 0);
      assert.equal(run.stdout, `${words(fixture.greedy.token_ids[0][0])}\n`);
      assert.deepEqual(served.sort(), ["config.yaml", "model.safetensors", "tokenizer.json"]);
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "generate command: seeded sampling reproduces and streams",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo_generate_seed_" });
    try {
      await writeReferenceCheckpoint("rope-swiglu-seq", dir);
      const prompt = (await readGenerateFixture("rope-swiglu-seq")).prompt[0].join(" ");
      for (const sampler of ["multinomial", "top-k", "top-p", "gumbel"]) {
        const sample = async (seed: number) => {
          const pieces = await runRecorded([
            "--checkpoint",
            dir,
            "--max-steps",
            "8",
            "--sampler",
            sampler,
            "--temperature",
            "2",
            "--seed",
            String(seed),
            "--token-ids",
            prompt,
          ]);
          const text = pieces.map((p) => p.text).join("");
          const tokens = text.trim().split(" ").map(Number);
          // One piece per token, each written right after its step (EOS ends the stream).
          assertStreamed(pieces, [...tokens.map((t, i) => (i ? " " : "") + t), "\n"]);
          return text;
        };
        const first = await sample(1);
        assert.equal(await sample(1), first, `${sampler}: the same seed repeats`);
        const others = [await sample(2), await sample(3)];
        assert.ok(others.some((o) => o !== first), `${sampler}: other seeds differ`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "generate command with the GPT-2 tokenizer: byte-level text, streamed and beam",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo_generate_gpt2_" });
    try {
      const config: ModelConfig = {
        ...defaultModelConfig(),
        d_model: 16,
        n_heads: 2,
        n_layers: 1,
        max_sequence_length: 64,
        rope: true,
        attention_dropout: 0,
        residual_dropout: 0,
        embedding_dropout: 0,
        init_std: 0.5,
      };
      const model = new Olmo(config, { seed: 3 });
      await writeSafetensors(join(dir, "model.safetensors"), await model.stateDict());
      await Deno.writeTextFile(
        join(dir, "config.yaml"),
        stringifyYaml({
          model: config,
          tokenizer: { identifier: "gpt2", truncate_direction: "right" },
        }),
      );
      await Deno.copyFile(
        join(FIXTURES_DIR, "tokenizers", "gpt2.json"),
        join(dir, "tokenizer.json"),
      );
      const tokenizer = Tokenizer.fromFile(join(dir, "tokenizer.json"));
      const promptIds = tokenizer.encode("The quick brown fox", { addSpecialTokens: false });

      for (const beamSize of [1, 2]) {
        // The expected text: generate on the same weights, decoded up to EOS.
        const ids = tf.tensor2d([promptIds], undefined, "int32");
        const out = await generate(model, ids, { maxSteps: 8, beamSize });
        const best = ((await out.tokenIds.array()) as number[][][])[0][0];
        tf.dispose([ids, out.tokenIds, out.scores]);
        const end = best.indexOf(config.eos_token_id);
        const expected = tokenizer.decode(end >= 0 ? best.slice(0, end) : best) + "\n";

        const args = ["--checkpoint", dir, "--max-steps", "8", "--beam-size", String(beamSize)];
        const pieces = await runRecorded([...args, "The quick brown fox"]);
        assert.equal(pieces.map((p) => p.text).join(""), expected, `beam ${beamSize}`);
        if (beamSize === 1) {
          // Written while generating: pieces after at least three different steps.
          assert.ok(new Set(pieces.map((p) => p.forwards)).size > 2, "streamed");
        } else {
          assert.equal(pieces.length, 1, "a wider beam prints once at the end");
        }
      }
      model.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
