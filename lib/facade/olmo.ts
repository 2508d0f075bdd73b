/**
 * `Olmo` as a user meets it: the pure model of `lib/model` plus OLMo's two conveniences that need
 * other folders, `Olmo.from_checkpoint` (checkpoint loading, optionally backend start-up) and
 * `Olmo.generate` (beam search from `lib/generate`).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type BackendName, initBackend } from "../backend/init.ts";
import { loadModelCheckpoint } from "../checkpoint/load_model.ts";
import { generate, type GenerateOptions, type GenerateOutput } from "../generate/generate.ts";
import { Olmo as OlmoModel } from "../model/olmo.ts";

/** Options of {@link Olmo.fromCheckpoint}. */
export interface FromCheckpointOptions {
  /**
   * A backend to initialise (as `initBackend(backend)`) before the weights are created. When
   * omitted the model is built on the active tfjs backend, whatever set it up.
   */
  backend?: BackendName;
  /** Download cache for URLs (default `$OLMO_TS_CACHE` or `~/.cache/olmo-ts/checkpoints`). */
  cacheDir?: string;
  /** Show URL download progress on stderr (default true). */
  progress?: boolean;
}

/**
 * The OLMo model (see `lib/model`'s `Olmo`: parameters under OLMo's names, `forward`,
 * `loadStateDict`, `stateDict`, ...) with {@link Olmo.fromCheckpoint} and {@link Olmo.generate}.
 *
 * @example Load a checkpoint and continue a prompt
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Olmo, Tokenizer } from "../../mod.ts";
 *
 * const dir = "runs/quickstart-brown/latest-unsharded";
 * const model = await Olmo.fromCheckpoint(dir, { backend: "auto" });
 * const tokenizer = await Tokenizer.fromCheckpoint(dir);
 * const ids = tokenizer.encode("The jury said that", { addSpecialTokens: false });
 * const out = await model.generate(tf.tensor2d([ids], undefined, "int32"), { maxSteps: 20 });
 * console.log(tokenizer.decode((await out.tokenIds.array())[0][0]));
 * ```
 */
export class Olmo extends OlmoModel {
  /**
   * OLMo `Olmo.from_checkpoint` for unsharded checkpoints: reads `config.yaml` (`model` section)
   * and `model.safetensors` or `model.pt` from a folder or URL and loads the weights strictly.
   * With `opts.backend` that backend is initialised first; without it the active tfjs backend is
   * used (call `initBackend` beforehand, or pass `backend: "auto"`). The model is in eval mode
   * (dropout only applies when `forward` is called with `training: true`).
   * @throws Error naming the file for a missing, truncated or mismatching checkpoint.
   */
  static async fromCheckpoint(
    pathOrUrl: string,
    opts: FromCheckpointOptions = {},
  ): Promise<Olmo> {
    if (opts.backend !== undefined) await initBackend(opts.backend, { quiet: true });
    const checkpoint = await loadModelCheckpoint(pathOrUrl, {
      cacheDir: opts.cacheDir,
      progress: opts.progress ?? true,
    });
    const model = new Olmo(checkpoint.config, { init: false });
    try {
      model.loadStateDict(checkpoint.state);
    } catch (e) {
      model.dispose();
      throw new Error(`${checkpoint.weightsPath}: ${(e as Error).message}`);
    }
    return model;
  }

  /**
   * OLMo's `generate`: beam search (greedy by default) from prompts `inputIds` (B, S) int32,
   * left-padded with an `attentionMask` when batched. Returns `tokenIds` (B, beam, T <= maxSteps)
   * without the prompt, best beam first, and `scores` (B, beam).
   */
  generate(inputIds: tf.Tensor2D, opts: GenerateOptions = {}): Promise<GenerateOutput> {
    return generate(this, inputIds, opts);
  }
}
