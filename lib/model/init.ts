/**
 * Weight initialisation (OLMo `olmo/initialization.py` `init_weights`).
 *
 * @module
 */
import type { ModelConfig } from "../config/model_config.ts";
import type { ParamSpec } from "./params.ts";
import { fillNormal, type Rng } from "./random.ts";

/** The normal distribution a weight is drawn from: std and optional truncation at ±cutoff. */
export interface WeightDistribution {
  /** Standard deviation before any residual rescaling. */
  std: number;
  /** Absolute truncation bound, or null for a plain normal. */
  cutoff: number | null;
  /** Divisor applied after sampling (`sqrt(2·n_layers)` for residual weights under `normal`). */
  divisor: number;
}

/**
 * The distribution OLMo's `init_weights` uses for a `weight` parameter under `config.init_fn`:
 * - normal: `init_std·std_factor`, truncated at ±`init_cutoff_factor`·std if set; the block
 *   `ff_out` is then divided by `sqrt(2·n_layers)`;
 * - mitchell: `std_factor/sqrt(d)`, divided by `sqrt(2·(layer_id+1))` when a layer id is given,
 *   truncated at ±3·std;
 * - kaiming_normal: `sqrt(2/fan_in)` with fan_in = `shape[1]`;
 * - fan_in: `std_factor/sqrt(d)`;
 * - full_megatron: init_std (in, emb), `init_std/sqrt(2·n_layers)` (out), `d_model^-0.5`
 *   (final_out), truncated at ±(init_cutoff_factor ?? 3)·std.
 *
 * OLMo later: `emb_init_std` sets the `wte` std under normal, mitchell and full_megatron, and
 * `scale_emb_init` multiplies the full_megatron `wte` std by `sqrt(d_model)`.
 */
export function weightDistribution(config: ModelConfig, spec: ParamSpec): WeightDistribution {
  const init = spec.init;
  if (init.kind !== "weight") {
    throw new Error(`weightDistribution: ${spec.name} is not a randomly initialised weight`);
  }
  if (spec.name === "transformer.wte.weight") {
    const std = tokenEmbeddingStd(config);
    if (std !== null) {
      const factor = config.init_fn === "normal" ? config.init_cutoff_factor : (
        config.init_cutoff_factor ?? 3
      );
      return { std, cutoff: factor === null ? null : factor * std, divisor: 1 };
    }
  }
  switch (config.init_fn) {
    case "normal": {
      const std = config.init_std * init.stdFactor;
      const cutoff = config.init_cutoff_factor === null ? null : config.init_cutoff_factor * std;
      return { std, cutoff, divisor: init.residual ? Math.sqrt(2 * config.n_layers) : 1 };
    }
    case "mitchell": {
      let std = init.stdFactor / Math.sqrt(init.d);
      if (init.layerId !== null) std /= Math.sqrt(2 * (init.layerId + 1));
      return { std, cutoff: 3 * std, divisor: 1 };
    }
    case "kaiming_normal":
      return { std: Math.sqrt(2 / spec.shape[1]), cutoff: null, divisor: 1 };
    case "fan_in":
      return { std: init.stdFactor / Math.sqrt(init.d), cutoff: null, divisor: 1 };
    case "full_megatron": {
      const factor = config.init_cutoff_factor ?? 3;
      let std: number;
      switch (init.moduleType) {
        case "in":
        case "emb":
          std = config.init_std;
          break;
        case "out":
          std = config.init_std / Math.sqrt(2 * config.n_layers);
          break;
        case "final_out":
          std = config.d_model ** -0.5;
          break;
        default:
          throw new Error(
            `init_fn full_megatron: parameter ${spec.name} has no module type (llama block)`,
          );
      }
      return { std, cutoff: factor * std, divisor: 1 };
    }
    default:
      throw new Error(`model config: unknown init_fn ${JSON.stringify(config.init_fn)}`);
  }
}

/** The `wte` std set by `emb_init_std` / `scale_emb_init`, or null where they change nothing. */
function tokenEmbeddingStd(config: ModelConfig): number | null {
  const fn = config.init_fn;
  if (fn !== "normal" && fn !== "mitchell" && fn !== "full_megatron") return null;
  if (config.emb_init_std !== null) return config.emb_init_std;
  if (fn === "full_megatron" && config.scale_emb_init) {
    return config.init_std * Math.sqrt(config.d_model);
  }
  return null;
}

/** Draws the initial value of one parameter (LayerNorm weights 1, biases 0, weights random). */
export function initialValue(config: ModelConfig, spec: ParamSpec, rng: Rng): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  if (spec.init.kind === "ones") out.fill(1);
  else if (spec.init.kind === "weight") {
    const dist = weightDistribution(config, spec);
    fillNormal(rng, out, dist.std, dist.cutoff);
    if (dist.divisor !== 1) { for (let i = 0; i < size; i++) out[i] /= dist.divisor; }
  }
  return out;
}
