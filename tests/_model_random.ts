/**
 * Random parameter values for model tests, so that every weight (LayerNorm affines included)
 * influences the output and an ignored option shows up as a difference.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Olmo } from "../lib/model/mod.ts";
import { Rng } from "../lib/model/random.ts";
import type { NamedHostTensors } from "../lib/util/host_tensor.ts";

/** Loads N(0, 0.3²) weights and biases and 1 + N(0, 0.2²) LayerNorm weights; returns the state. */
export function randomizeParams(model: Olmo, seed: number): NamedHostTensors {
  const rng = new Rng(seed);
  const state: NamedHostTensors = new Map();
  for (const [name, v] of model.params) {
    const data = new Float32Array(v.size);
    const isNormWeight = v.rank === 1 && name.endsWith("norm.weight");
    for (let i = 0; i < data.length; i++) {
      data[i] = isNormWeight ? 1 + 0.2 * rng.normal() : 0.3 * rng.normal();
    }
    state.set(name, { dtype: "float32", shape: [...v.shape], data });
  }
  model.loadStateDict(state);
  return state;
}

/** Random token ids [B][S] in [0, vocab). */
export function randomIds(rng: Rng, batch: number, seqLen: number, vocab: number): number[][] {
  return Array.from(
    { length: batch },
    () => Array.from({ length: seqLen }, () => Math.floor(rng.next() * vocab)),
  );
}

/** An int32 (B, S) tensor from nested ids. */
export function idsTensor(ids: number[][]): tf.Tensor2D {
  return tf.tensor2d(ids, [ids.length, ids[0].length], "int32");
}

/** Largest |a - b| between a tensor and nested numbers of the same shape. */
export async function maxDiffNested(a: tf.Tensor, b: number[][][]): Promise<number> {
  const got = await a.data();
  const flat = b.flat(2);
  if (got.length !== flat.length) throw new Error(`size ${got.length} != ${flat.length}`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - flat[i]));
  return worst;
}

/** Largest |a - b| between two same-shape tensors. */
export async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const x = await a.data();
  const y = await b.data();
  if (x.length !== y.length) throw new Error(`size ${x.length} != ${y.length}`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  return worst;
}
