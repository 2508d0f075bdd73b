/**
 * The beam-search state and step-function types, and how `BeamSearch` handles the tensors a step
 * function hands it: reading log-probabilities to the host, reordering state tensors by beam
 * (`tf.gather` along the group axis) and disposing what is no longer referenced.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Float32Matrix } from "./host_matrix.ts";

/** Beam-search state: tensors whose first dimension is the group (batch, then batch·beam). */
export type BeamSearchState = Record<string, tf.Tensor>;

/** What a step function returns: log-probabilities (group, numClasses) and the new state. */
export type StepResult = [tf.Tensor2D, BeamSearchState];

/**
 * Computes next-class log-probabilities. `lastPredictions` is (group,) int32: the start
 * predictions on the first call (group = batch), then the last predicted class of each beam
 * (group = batch·beam). The optional third argument is the timestep (0 on the first call); it is
 * passed when the function declares at least 3 parameters (`step.length >= 3`), as in OLMo.
 */
export type StepFunction = StepWithoutTimestep | StepWithTimestep;

/** A step function that takes no timestep. */
export type StepWithoutTimestep = (
  lastPredictions: tf.Tensor1D,
  state: BeamSearchState,
) => StepResult | Promise<StepResult>;

/** A step function that takes the timestep as third argument. */
export type StepWithTimestep = (
  lastPredictions: tf.Tensor1D,
  state: BeamSearchState,
  timestep: number,
) => StepResult | Promise<StepResult>;

/** Reads a step's log-probabilities into a host copy, checking its shape and dtype. */
export async function readLogProbs(
  t: tf.Tensor,
  rows: number,
  timestep: number,
  cols?: number,
): Promise<Float32Matrix> {
  if (t.rank !== 2 || t.shape[0] !== rows || (cols !== undefined && t.shape[1] !== cols)) {
    throw new Error(
      `BeamSearch: the step function returned log-probabilities of shape [${t.shape}] at timestep ` +
        `${timestep}, expected [${rows}, ${cols ?? "num_classes"}]`,
    );
  }
  if (t.dtype !== "float32") {
    throw new Error(
      `BeamSearch: log-probabilities must be float32, got ${t.dtype} at timestep ${timestep}`,
    );
  }
  const data = (await t.data()) as Float32Array;
  return { rows, cols: t.shape[1] as number, data: data.slice() };
}

/** The set of tensors in a state. */
export function tensorsOf(state: BeamSearchState): Set<tf.Tensor> {
  return new Set(Object.values(state));
}

/**
 * After a step: disposes the previous state's tensors the step dropped and the step's temporary
 * tensors, unless the new state still holds them. `callerOwned` tensors are never disposed.
 */
export function releaseAfterStep(
  previous: Set<tf.Tensor>,
  next: BeamSearchState,
  temporaries: tf.Tensor[],
  callerOwned: tf.Tensor[],
): void {
  const kept = tensorsOf(next);
  for (const t of callerOwned) kept.add(t);
  for (const t of [...previous, ...temporaries]) if (!kept.has(t) && !t.isDisposed) t.dispose();
}

/**
 * Replaces every state tensor by its rows `source(0), …, source(groupSize − 1)` (in place, as
 * OLMo's `_update_initial_state` / `_update_state`), disposing the old tensors. The identity
 * reordering leaves the state untouched.
 */
export function reorderState(
  state: BeamSearchState,
  groupSize: number,
  source: (row: number) => number,
): void {
  const keys = Object.keys(state);
  if (keys.length === 0) return;
  const rows = new Int32Array(groupSize);
  for (let g = 0; g < groupSize; g++) rows[g] = source(g);
  // Greedy search never moves a row; skip copying every state tensor (e.g. the KV cache).
  const groupSizeBefore = state[keys[0]].shape[0];
  if (groupSizeBefore === groupSize && rows.every((r, g) => r === g)) return;
  const index = tf.tensor1d(rows, "int32");
  const replaced = new Map<tf.Tensor, tf.Tensor>();
  for (const key of keys) {
    const old = state[key];
    let next = replaced.get(old);
    if (!next) {
      next = tf.gather(old, index, 0);
      replaced.set(old, next);
    }
    state[key] = next;
  }
  index.dispose();
  for (const old of replaced.keys()) old.dispose();
}
