/**
 * Memory-lean gradient functions for `tf.customGrad` ops.
 *
 * tfjs runs a custom op's gradient function eagerly in the scope of the whole backward pass, so
 * everything it allocates, the tensors the op saved and the incoming gradient all stay alive until
 * backprop ends: a training step's memory then holds every activation *and* every gradient at once.
 * {@link leanGradient} frees each of them as soon as the op's gradient exists, which bounds the
 * backward pass to roughly the forward pass's footprint.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A custom op's gradient: the incoming gradient and the saved tensors → one per input. */
export type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** The engine's scope bookkeeping read here (not part of tfjs' typed API). */
interface EngineScopeState {
  state: { activeScope: { track: tf.Tensor[] } | null };
}

/**
 * True when `t` was created in the innermost open scope, i.e. by the backward pass itself (the
 * gradient accumulated for the op's output). A caller's own `dy` passed to `tf.grads` lives in
 * an outer scope and is never freed here.
 */
function ownedByBackwardScope(t: tf.Tensor): boolean {
  const scope = (tf.engine() as unknown as EngineScopeState).state.activeScope;
  return scope !== null && !t.kept && scope.track.includes(t);
}

/**
 * Wraps a custom op's gradient so that its temporaries are freed when it returns, and the op's
 * saved tensors and incoming gradient right after (each is used by this op's gradient only).
 */
export function leanGradient(
  grad: GradFunc,
): (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] {
  return (dy, saved) => {
    const incoming = dy as tf.Tensor;
    const out = tf.tidy(() => grad(incoming, saved));
    tf.dispose(saved);
    const passedThrough = Array.isArray(out) ? out.includes(incoming) : out === incoming;
    if (!passedThrough && ownedByBackwardScope(incoming)) incoming.dispose();
    return out;
  };
}
