/**
 * `DataCollator`: pads a list of instances into one batch of host arrays (OLMo `DataCollator`, in
 * `olmo/data/collator.py`). The trainer turns the arrays into tensors.
 *
 * - `inputIds` are padded with `padTokenId`, on the left for `"left"`, else on the right.
 * - `attentionMask` (only if the items carry one; the collator never invents one) is padded
 *   with 0.
 * - `attentionBias` is viewed as (1, s, s) and padded on both of its last two axes with `false`
 *   for bool biases and `-Infinity` for float biases.
 *
 * @module
 */
import type { HostTensor } from "../util/host_tensor.ts";

/** Padding side (`data.pad_direction`). */
export type PaddingDirection = "right" | "left";

/** A square attention bias of one instance: shape (s, s) or (1, s, s); dtype "bool" or "float32". */
export interface AttentionBiasInput {
  /** "bool" (Uint8Array of 0/1) or "float32". */
  dtype: "bool" | "float32";
  /** (s, s) or (1, s, s). */
  shape: number[];
  /** Row-major values. */
  data: Uint8Array | Float32Array;
}

/** One instance as the collator accepts it. */
export interface CollatorItem {
  /** Token ids, shape (s,). */
  inputIds: ArrayLike<number>;
  /** Optional mask, shape (s,): 1 keeps a position, 0 masks it. */
  attentionMask?: ArrayLike<number>;
  /** Optional bias. */
  attentionBias?: AttentionBiasInput;
  /** Instance index from `IterableDataset`. */
  index?: number;
  /** File metadata from `MemMapDataset`. */
  metadata?: unknown;
}

/** A padded batch. B = number of items, L = longest `inputIds`. */
export interface CollatedBatch {
  /** (B, L) int32. */
  inputIds: HostTensor & { data: Int32Array };
  /** (B, L) float32, only if some item had a mask (items without one get ones). */
  attentionMask?: HostTensor & { data: Float32Array };
  /** (B, 1, L, L), bool (Uint8Array) or float32, only if some item had a bias. */
  attentionBias?: HostTensor & { data: Uint8Array | Float32Array };
  /** (B,) instance indices, only if the items had them. */
  index?: number[];
  /** (B,) metadata, only if the items had it. */
  metadata?: unknown[];
}

/** Pads instances into batches. */
export class DataCollator {
  /** Padding side. */
  readonly padDirection: PaddingDirection;
  /** Id written into padded `inputIds` positions. */
  readonly padTokenId: number;

  /** `padDirection` as in `data.pad_direction`; `padTokenId` as in `model.pad_token_id`. */
  constructor(options: { padDirection?: PaddingDirection; padTokenId: number }) {
    const dir = options.padDirection ?? "right";
    if (dir !== "right" && dir !== "left") {
      throw new Error(`pad_direction: expected "right" or "left", got ${JSON.stringify(dir)}`);
    }
    this.padDirection = dir;
    this.padTokenId = options.padTokenId;
  }

  /** OLMo's `DataCollator.from_train_config`: `data.pad_direction` and `model.pad_token_id`. */
  static fromTrainConfig(cfg: {
    data: { pad_direction?: string | null };
    model: { pad_token_id: number };
  }): DataCollator {
    return new DataCollator({
      padDirection: (cfg.data.pad_direction ?? "right") as PaddingDirection,
      padTokenId: cfg.model.pad_token_id,
    });
  }

  /** Pads `items` (instances, or bare id arrays) into one batch. */
  collate(items: ReadonlyArray<CollatorItem | ArrayLike<number>>): CollatedBatch {
    if (items.length === 0) throw new Error("DataCollator: cannot collate an empty batch");
    const rows = items.map((it) => "inputIds" in it ? it as CollatorItem : { inputIds: it });
    const B = rows.length;
    const L = Math.max(...rows.map((r) => r.inputIds.length));
    const left = this.padDirection === "left";

    const inputIds = new Int32Array(B * L).fill(this.padTokenId);
    rows.forEach((r, b) => {
      const start = b * L + (left ? L - r.inputIds.length : 0);
      for (let t = 0; t < r.inputIds.length; t++) inputIds[start + t] = r.inputIds[t];
    });
    const batch: CollatedBatch = { inputIds: { dtype: "int32", shape: [B, L], data: inputIds } };

    if (rows.some((r) => r.attentionMask !== undefined)) {
      const mask = new Float32Array(B * L);
      rows.forEach((r, b) => {
        const n = r.inputIds.length;
        const start = b * L + (left ? L - n : 0);
        const m = r.attentionMask;
        if (m !== undefined && m.length !== n) {
          throw new Error(`DataCollator: item ${b} has ${n} ids but a mask of length ${m.length}`);
        }
        for (let t = 0; t < n; t++) mask[start + t] = m === undefined ? 1 : m[t];
      });
      batch.attentionMask = { dtype: "float32", shape: [B, L], data: mask };
    }

    if (rows.some((r) => r.attentionBias !== undefined)) {
      batch.attentionBias = this.#padBiases(rows, L);
    }
    if (rows.every((r) => r.index !== undefined)) batch.index = rows.map((r) => r.index!);
    if (rows.every((r) => r.metadata !== undefined)) batch.metadata = rows.map((r) => r.metadata);
    return batch;
  }

  /** Pads each (s, s) bias to (L, L) at the padding side of both axes: (B, 1, L, L). */
  #padBiases(
    rows: CollatorItem[],
    L: number,
  ): HostTensor & { data: Uint8Array | Float32Array } {
    const dtypes = new Set(rows.map((r) => r.attentionBias?.dtype));
    if (dtypes.size !== 1 || dtypes.has(undefined)) {
      throw new Error(
        "DataCollator: either every item or none must have an attentionBias of one dtype",
      );
    }
    const isBool = dtypes.has("bool");
    const out = isBool
      ? new Uint8Array(rows.length * L * L)
      : new Float32Array(rows.length * L * L);
    if (!isBool) out.fill(-Infinity);
    const left = this.padDirection === "left";
    rows.forEach((r, b) => {
      const bias = r.attentionBias!;
      const s = bias.shape[bias.shape.length - 1];
      const squareOk = bias.shape.length >= 2 && bias.shape[bias.shape.length - 2] === s &&
        bias.shape.slice(0, -2).every((d) => d === 1) && bias.data.length === s * s;
      if (!squareOk) {
        throw new Error(
          `DataCollator: item ${b} attentionBias has shape [${bias.shape}], expected (s, s) or (1, s, s)`,
        );
      }
      const off = left ? L - s : 0;
      for (let i = 0; i < s; i++) {
        for (let j = 0; j < s; j++) {
          out[b * L * L + (i + off) * L + (j + off)] = bias.data[i * s + j];
        }
      }
    });
    return { dtype: isBool ? "bool" : "float32", shape: [rows.length, 1, L, L], data: out };
  }
}
