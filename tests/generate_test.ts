/**
 * `generate`: parity with OLMo's `Olmo.generate` on the shared reference checkpoints, the KV-cache
 * path against a full re-run of the sequence at every step, OLMo's `test_generate` (left padding
 * with a mask gives the same scores as the unpadded prompt), one single-position forward pass per
 * step after the prompt, input validation, seeded sampling and disposal. The `generate` command is
 * tested in `generate_cli_test.ts`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { readSafetensors } from "../lib/checkpoint/formats/safetensors.ts";
import { defaultModelConfig, loadConfigSection, type ModelConfig } from "../lib/config/mod.ts";
import { BeamSearch } from "../lib/generate/beam_search.ts";
import type { BeamSearchState } from "../lib/generate/search_state.ts";
import { generate } from "../lib/generate/generate.ts";
import { benchGenerate } from "../lib/bench/generate_bench.ts";
import { MultinomialSampler } from "../lib/generate/samplers.ts";
import { IncrementalDecoder } from "../lib/generate/text_stream.ts";
import { Olmo } from "../lib/facade/olmo.ts";
import { Rng } from "../lib/model/random.ts";
import { HAS_SHARED, OLMO_REFERENCE_CASES, referenceCaseDir } from "./_shared.ts";
import { PARITY_BACKENDS as BEAM_BACKENDS } from "./_parity.ts";

tf.env().set("PROD", true);

interface GenerateFixture {
  prompt: number[][];
  max_steps: number;
  beam_size: number;
  token_ids: number[][][];
  scores: number[][];
  greedy: {
    prompt: number[][];
    max_steps: number;
    beam_size: number;
    token_ids: number[][][];
    scores: number[][];
  };
}

/** The `model` section of a reference case's `config.yaml`. */
function referenceModelConfig(dir: string): Promise<ModelConfig> {
  return loadConfigSection(join(dir, "config.yaml"), "model", { validatePaths: false });
}

/**
 * The reference model as `generate.json` saw it. Although the fixture README describes
 * `generate.json` as output of the checkpoint's model, OLMo recorded it after the two training
 * steps of `train_step.safetensors`: its `after.*` parameters reproduce every token and score,
 * the initial `model.safetensors` weights do not (pinned by the "recorded with" test below).
 */
async function loadReferenceModel(
  dir: string,
  weights: "after" | "initial" = "after",
): Promise<Olmo> {
  const model = new Olmo(await referenceModelConfig(dir), { init: false });
  if (weights === "initial") {
    model.loadStateDict((await readSafetensors(join(dir, "model.safetensors"))).tensors);
    return model;
  }
  const trainStep = (await readSafetensors(join(dir, "train_step.safetensors"))).tensors;
  const after = new Map(
    [...trainStep].filter(([k]) => k.startsWith("after.")).map(([k, v]) => [k.slice(6), v]),
  );
  model.loadStateDict(after);
  return model;
}

function assertClose(actual: number[], expected: number[], atol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) =>
    assert.ok(
      Math.abs(a - expected[i]) <= atol,
      `${what}[${i}]: ${a} vs ${expected[i]} (atol ${atol})`,
    )
  );
}

/** The CPU backends the beams are checked on (native where its libraries load). */

for (const name of OLMO_REFERENCE_CASES) {
  for (const backend of BEAM_BACKENDS) {
    Deno.test({
      name: `generate matches OLMo on ${name} (${backend}): beam 3 (batch 2) and greedy`,
      ignore: !HAS_SHARED,
      fn: async () => {
        await initBackend(backend, { quiet: true });
        const dir = referenceCaseDir(name);
        const fixture = JSON.parse(
          await Deno.readTextFile(join(dir, "generate.json")),
        ) as GenerateFixture;
        const model = await loadReferenceModel(dir);
        const before = tf.memory().numTensors;

        const prompt = tf.tensor2d(fixture.prompt, undefined, "int32");
        const beam = await generate(model, prompt, {
          maxSteps: fixture.max_steps,
          beamSize: fixture.beam_size,
        });
        assert.deepEqual(await beam.tokenIds.array(), fixture.token_ids);
        assertClose((await beam.scores.array()).flat(), fixture.scores.flat(), 1e-3, "beam scores");

        const greedyPrompt = tf.tensor2d(fixture.greedy.prompt, undefined, "int32");
        // Through the model's own method, as OLMo users call it.
        const greedy = await model.generate(greedyPrompt, {
          maxSteps: fixture.greedy.max_steps,
          beamSize: fixture.greedy.beam_size,
        });
        assert.deepEqual(await greedy.tokenIds.array(), fixture.greedy.token_ids);
        assertClose(
          (await greedy.scores.array()).flat(),
          fixture.greedy.scores.flat(),
          1e-3,
          "greedy scores",
        );

        tf.dispose([
          prompt,
          greedyPrompt,
          beam.tokenIds,
          beam.scores,
          greedy.tokenIds,
          greedy.scores,
        ]);
        assert.equal(tf.memory().numTensors, before, "generate leaks no tensors");
        model.dispose();
      },
    });
  }
}

for (const name of OLMO_REFERENCE_CASES) {
  Deno.test({
    name: `generate.json of ${name} was recorded with the after-training weights`,
    ignore: !HAS_SHARED,
    fn: async () => {
      // Beam search aside: the fixture's greedy tokens, teacher-forced through one full forward
      // pass, must be the argmax at every position and sum to the fixture's score.
      const dir = referenceCaseDir(name);
      const { greedy } = JSON.parse(
        await Deno.readTextFile(join(dir, "generate.json")),
      ) as GenerateFixture;
      const prompt = greedy.prompt[0];
      const tokens = greedy.token_ids[0][0];
      const check = async (weights: "after" | "initial") => {
        const model = await loadReferenceModel(dir, weights);
        const ids = tf.tensor2d([[...prompt, ...tokens]], undefined, "int32");
        const { logits } = model.forward(ids);
        const logProbs = tf.logSoftmax(logits);
        const rows = ((await logProbs.array()) as number[][][])[0].slice(prompt.length - 1);
        tf.dispose([ids, logits, logProbs]);
        model.dispose();
        const score = tokens.reduce((sum, t, i) => sum + rows[i][t], 0);
        const argmaxEverywhere = tokens.every((t, i) => rows[i][t] === Math.max(...rows[i]));
        return { score, argmaxEverywhere };
      };
      const after = await check("after");
      assert.ok(after.argmaxEverywhere, "after-training weights: greedy tokens are the argmax");
      assertClose([after.score], greedy.scores[0], 1e-3, "after-training greedy score");
      const initial = await check("initial");
      assert.ok(
        Math.abs(initial.score - greedy.scores[0][0]) > 0.1,
        `model.safetensors weights give ${initial.score}, unexpectedly close to the fixture`,
      );
    },
  });
}

/** A small random model whose next-token distributions are peaked enough to avoid near-ties. */
function smallModel(
  positions: "rope" | "alibi" | "absolute",
  overrides: Partial<ModelConfig> = {},
): Olmo {
  const config: ModelConfig = {
    ...defaultModelConfig(),
    d_model: 32,
    n_heads: 4,
    n_layers: 2,
    max_sequence_length: 32,
    vocab_size: 60,
    embedding_size: 128,
    eos_token_id: 59,
    pad_token_id: 59,
    attention_dropout: 0,
    residual_dropout: 0,
    embedding_dropout: 0,
    init_std: 0.3,
    rope: positions === "rope",
    alibi: positions === "alibi",
    ...overrides,
  };
  return new Olmo(config, { seed: 17 });
}

/**
 * Reference decoding without a KV cache: every step runs the model on the whole sequence so far
 * (kept in the beam-search state, so beam search reorders it) and takes the last position.
 */
async function generateWithoutCache(
  model: Olmo,
  inputIds: number[][],
  attentionMask: number[][],
  maxSteps: number,
  beamSize: number,
): Promise<{ tokenIds: number[][][]; scores: number[][] }> {
  const state: BeamSearchState = {
    tokens: tf.tensor2d(inputIds, undefined, "int32"),
    mask: tf.tensor2d(attentionMask),
  };
  const step = (
    last: tf.Tensor1D,
    s: BeamSearchState,
    timestep: number,
  ): [tf.Tensor2D, BeamSearchState] => {
    const next = timestep === 0 ? { ...s } : {
      tokens: tf.concat([s.tokens, tf.reshape(last, [-1, 1])], 1),
      mask: tf.concat([s.mask, tf.ones([last.shape[0], 1])], 1),
    };
    const { logits } = model.forward(next.tokens as tf.Tensor2D, {
      attentionMask: next.mask as tf.Tensor2D,
    });
    const logProbs = tf.tidy(() => {
      const [g, t, e] = logits.shape;
      return tf.logSoftmax(tf.reshape(tf.slice(logits, [0, t - 1, 0], [-1, 1, -1]), [g, e]));
    }) as tf.Tensor2D;
    logits.dispose();
    return [logProbs, next];
  };
  const search = new BeamSearch(model.config.eos_token_id, {
    maxSteps,
    beamSize,
    onWarning: () => {},
  });
  const start = tf.zeros([inputIds.length], "int32") as tf.Tensor1D;
  const result = await search.search(start, state, step);
  const out = {
    tokenIds: (await result.predictions.array()) as number[][][],
    scores: (await result.scores.array()) as number[][],
  };
  tf.dispose([start, result.predictions, result.scores, ...Object.values(result.state)]);
  return out;
}

/**
 * Summed log-probability of `continuation` after `prompt` from a single forward pass over both;
 * tokens after the first EOS add 0 (beam search only repeats EOS there).
 */
async function teacherForcedLogProb(
  model: Olmo,
  prompt: number[],
  promptMask: number[],
  continuation: number[],
): Promise<number> {
  const eos = model.config.eos_token_id;
  const ids = tf.tensor2d([[...prompt, ...continuation]], undefined, "int32");
  const mask = tf.tensor2d([[...promptMask, ...continuation.map(() => 1)]]);
  const { logits } = model.forward(ids, { attentionMask: mask });
  const logProbs = tf.logSoftmax(logits);
  const lp = (await logProbs.array())[0] as number[][];
  tf.dispose([ids, mask, logits, logProbs]);
  let total = 0;
  for (let t = 0; t < continuation.length; t++) {
    total += lp[prompt.length - 1 + t][continuation[t]];
    if (continuation[t] === eos) break;
  }
  return total;
}

for (const positions of ["rope", "alibi", "absolute"] as const) {
  Deno.test(`KV-cache generation equals full re-runs (${positions} positions, left padding)`, async () => {
    const model = smallModel(positions);
    const inputIds = [[59, 59, 3, 14, 15, 9], [2, 6, 5, 35, 8, 9]];
    const mask = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]];
    for (const beamSize of [1, 3]) {
      const reference = await generateWithoutCache(model, inputIds, mask, 8, beamSize);
      const ids = tf.tensor2d(inputIds, undefined, "int32");
      const attentionMask = tf.tensor2d(mask);
      const out = await generate(model, ids, {
        attentionMask,
        maxSteps: 8,
        beamSize,
        onWarning: () => {},
      });
      assert.deepEqual(await out.tokenIds.array(), reference.tokenIds, `beam ${beamSize}`);
      assertClose(
        (await out.scores.array()).flat(),
        reference.scores.flat(),
        1e-4,
        `beam ${beamSize} scores`,
      );
      // Independently of beam search's reordering: each returned beam's score is the summed
      // log-probability of its tokens under one teacher-forced forward pass.
      const tokens = (await out.tokenIds.array()) as number[][][];
      const scores = (await out.scores.array()) as number[][];
      for (let b = 0; b < inputIds.length; b++) {
        for (let j = 0; j < beamSize; j++) {
          const forced = await teacherForcedLogProb(model, inputIds[b], mask[b], tokens[b][j]);
          assertClose([scores[b][j]], [forced], 1e-4, `row ${b} beam ${j} teacher-forced score`);
        }
      }
      tf.dispose([ids, attentionMask, out.tokenIds, out.scores]);
    }
    model.dispose();
  });
}

Deno.test("KV cache: the prompt runs once, then one position per beam and step", async () => {
  const model = smallModel("rope");
  const calls: { input: number[]; past: number[] | null; useCache: boolean }[] = [];
  const forward = model.forward.bind(model);
  model.forward = (inputIds, opts = {}) => {
    calls.push({
      input: [...inputIds.shape],
      past: opts.pastKeyValues ? opts.pastKeyValues.map(([k]) => k.shape[2]) : null,
      useCache: opts.useCache ?? false,
    });
    return forward(inputIds, opts);
  };
  const ids = tf.tensor2d([[3, 14, 15, 9, 26], [5, 35, 8, 9, 7]], undefined, "int32");
  // minSteps = maxSteps: no beam can end early, so every step runs.
  const out = await generate(model, ids, { maxSteps: 6, minSteps: 6, beamSize: 3 });
  assert.deepEqual(out.tokenIds.shape, [2, 3, 6]);
  const layers = model.config.n_layers;
  tf.dispose([ids, out.tokenIds, out.scores]);
  model.dispose();
  assert.deepEqual(calls, [
    { input: [2, 5], past: null, useCache: true },
    ...[5, 6, 7, 8, 9].map((cached) => ({
      input: [6, 1],
      past: new Array(layers).fill(cached),
      useCache: true,
    })),
  ]);
});

Deno.test("OLMo test_generate: a left-padded prompt in a batch scores as when alone (alibi)", async () => {
  const model = smallModel("alibi");
  const long = [5, 17, 33, 2, 40, 41, 7, 12];
  const short = [23, 11, 8, 30];
  const pad = model.config.pad_token_id;
  const batch = tf.tensor2d(
    [long, [...new Array(long.length - short.length).fill(pad), ...short]],
    undefined,
    "int32",
  );
  const mask = tf.tensor2d([long.map(() => 1), [0, 0, 0, 0, 1, 1, 1, 1]]);
  const alone = tf.tensor2d([short], undefined, "int32");
  const options = { beamSize: 3, maxSteps: 5, onWarning: () => {} };
  const batched = await generate(model, batch, { ...options, attentionMask: mask });
  const single = await generate(model, alone, options);
  const batchedScores = (await batched.scores.array()) as number[][];
  assertClose((await single.scores.array())[0], batchedScores[1], 1e-5, "scores");
  assert.deepEqual((await single.tokenIds.array())[0], (await batched.tokenIds.array())[1]);
  tf.dispose([
    batch,
    mask,
    alone,
    batched.tokenIds,
    batched.scores,
    single.tokenIds,
    single.scores,
  ]);
  model.dispose();
});

Deno.test("generate validates the mask and bias shapes", async () => {
  const model = smallModel("rope");
  const ids = tf.tensor2d([[1, 2, 3]], undefined, "int32");
  const badMask = tf.ones([1, 4]) as tf.Tensor2D;
  await assert.rejects(
    generate(model, ids, { attentionMask: badMask }),
    /attentionMask must have shape \[1, 3\]/,
  );
  const shortBias = tf.zeros([1, 1, 12, 12]) as tf.Tensor4D; // needs ≥ 3 + 10
  await assert.rejects(
    generate(model, ids, { attentionBias: shortBias }),
    /attentionBias must have shape/,
  );
  const longBias = tf.zeros([1, 1, 33, 33]) as tf.Tensor4D; // > max_sequence_length 32
  await assert.rejects(
    generate(model, ids, { attentionBias: longBias }),
    /≤ 32 \(max_sequence_length\)/,
  );
  const floatIds = tf.tensor2d([[1, 2, 3]]);
  await assert.rejects(generate(model, floatIds), /inputIds must be int32/);
  tf.dispose([ids, badMask, shortBias, longBias, floatIds]);
  model.dispose();
});

Deno.test("generate with a causal attention bias equals generate without one", async () => {
  const model = smallModel("rope");
  const ids = tf.tensor2d([[4, 8, 15, 16]], undefined, "int32");
  const L = 4 + 6;
  const causal = tf.tidy(() =>
    tf.reshape(tf.linalg.bandPart(tf.ones([L, L], "int32"), -1, 0), [1, 1, L, L])
  ) as tf.Tensor4D;
  const withBias = await generate(model, ids, { attentionBias: causal, maxSteps: 6, beamSize: 2 });
  const plain = await generate(model, ids, { maxSteps: 6, beamSize: 2 });
  assert.deepEqual(await withBias.tokenIds.array(), await plain.tokenIds.array());
  assertClose(
    (await withBias.scores.array()).flat(),
    (await plain.scores.array()).flat(),
    1e-5,
    "scores",
  );
  tf.dispose([ids, causal, withBias.tokenIds, withBias.scores, plain.tokenIds, plain.scores]);
  model.dispose();
});

Deno.test("seeded sampling reproduces; beams end at EOS; nothing leaks", async () => {
  const model = smallModel("rope", { init_std: 0.05 });
  const ids = tf.tensor2d([[1, 2, 3], [7, 8, 9]], undefined, "int32");
  const before = tf.memory().numTensors;
  const run = async (seed: number) => {
    const out = await generate(model, ids, {
      maxSteps: 12,
      sampler: new MultinomialSampler({ temperature: 1.5, rng: new Rng(seed) }),
    });
    const tokens = (await out.tokenIds.array()) as number[][][];
    tf.dispose([out.tokenIds, out.scores]);
    return tokens;
  };
  const a = await run(5);
  assert.deepEqual(await run(5), a);
  const others = [await run(6), await run(7)];
  assert.ok(others.some((o) => JSON.stringify(o) !== JSON.stringify(a)), "different seeds differ");
  for (const seq of [a, ...others].flat(2)) {
    const end = seq.indexOf(model.config.eos_token_id);
    if (end >= 0) assert.ok(seq.slice(end).every((t) => t === model.config.eos_token_id));
    assert.ok(seq.every((t) => t >= 0 && t < model.config.embedding_size!));
  }
  assert.equal(tf.memory().numTensors, before);
  ids.dispose();
  model.dispose();
});

Deno.test("IncrementalDecoder holds back unfinished UTF-8 characters", () => {
  // A toy byte-level decoder: ids are bytes; "é" is two bytes, "€" three.
  const bytes = [...new TextEncoder().encode("aé€b")];
  const decoder = new IncrementalDecoder((ids) => new TextDecoder().decode(Uint8Array.from(ids)));
  const pieces = bytes.map((b) => decoder.push(b));
  assert.deepEqual(pieces, ["a", "", "é", "", "", "€", "b"]);
  assert.equal(decoder.flush(), "");
  const partial = new IncrementalDecoder((ids) => new TextDecoder().decode(Uint8Array.from(ids)));
  assert.equal(partial.push(0xe2), "");
  assert.equal(partial.flush(), "\uFFFD");
});

Deno.test("benchGenerate reports decode speed per context length", async () => {
  const config: ModelConfig = {
    ...defaultModelConfig(),
    d_model: 16,
    n_heads: 2,
    n_layers: 1,
    vocab_size: 50,
    embedding_size: 128,
    eos_token_id: 49,
    pad_token_id: 49,
    max_sequence_length: 40,
    alibi: true,
  };
  const before = tf.memory().numTensors;
  const results = await benchGenerate(config, { contextLengths: [4, 16], newTokens: 6 });
  assert.deepEqual(results.map((r) => [r.contextLength, r.newTokens]), [[4, 6], [16, 6]]);
  for (const r of results) {
    assert.ok(r.decodeTokensPerSecond > 0 && Number.isFinite(r.decodeTokensPerSecond));
    assert.ok(r.prefillSeconds >= 0 && r.decodeSeconds > 0);
  }
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(
    benchGenerate(config, { contextLengths: [36], newTokens: 6 }),
    /max_sequence_length/,
  );
});
