/**
 * The sub-sections of `data` that OLMo's later `DataConfig` added: `instance_filter` (drop
 * instances with long token repetitions) and `custom_dataset` (a Python dataset class). Field
 * names, types and defaults are OLMo's (`olmo/config.py`), so the later `config.yaml` files load
 * unchanged. olmo-ts's data pipeline implements neither: a set value is reported once at
 * start-up (`tfjsCompatibilityWarnings`).
 *
 * @module
 */
import {
  ANY,
  type ConfigOf,
  defineSection,
  INT,
  NULL_STR,
  type SectionSchema,
  STR,
} from "./schema.ts";

/** The fields of `InstanceFilterConfig`, each declared once. */
export const INSTANCE_FILTER_CONFIG_FIELDS = {
  repetition_max_period: { ...INT, default: 13, doc: "Longest repetition period looked for." },
  repetition_min_period: { ...INT, default: 1, doc: "Shortest repetition period looked for." },
  repetition_max_count: {
    ...INT,
    default: 32,
    doc: "Repetitions at which an instance is dropped.",
  },
} as const;

/** Schema of `data.instance_filter`. */
export const INSTANCE_FILTER_CONFIG_SCHEMA: SectionSchema<typeof INSTANCE_FILTER_CONFIG_FIELDS> =
  defineSection("InstanceFilterConfig", INSTANCE_FILTER_CONFIG_FIELDS);

/** Filter of instances with long token repetitions (OLMo later `InstanceFilterConfig`). */
export type InstanceFilterConfig = ConfigOf<typeof INSTANCE_FILTER_CONFIG_FIELDS>;

/** The fields of `CustomDatasetCollatorConfig`, each declared once. */
export const CUSTOM_DATASET_COLLATOR_CONFIG_FIELDS = {
  input_id_field: { ...STR, default: "input_ids", doc: "Field with the token ids." },
  attention_mask_field: { ...NULL_STR, default: null, doc: "Field with the attention mask." },
  attention_bias_field: { ...NULL_STR, default: null, doc: "Field with the attention bias." },
  label_mask_field: { ...NULL_STR, default: null, doc: "Field with the label mask." },
  index_field: { ...NULL_STR, default: null, doc: "Field with the instance index." },
  instance_mask_field: { ...NULL_STR, default: null, doc: "Field with the instance mask." },
  doc_lens_field: { ...NULL_STR, default: null, doc: "Field with the document lengths." },
  metadata_field: { ...NULL_STR, default: null, doc: "Field with the metadata." },
} as const;

/** Schema of `data.custom_dataset.collate_config`. */
export const CUSTOM_DATASET_COLLATOR_CONFIG_SCHEMA: SectionSchema<
  typeof CUSTOM_DATASET_COLLATOR_CONFIG_FIELDS
> = defineSection("CustomDatasetCollatorConfig", CUSTOM_DATASET_COLLATOR_CONFIG_FIELDS);

/** Field names the collator of a custom dataset reads (OLMo later). */
export type CustomDatasetCollatorConfig = ConfigOf<typeof CUSTOM_DATASET_COLLATOR_CONFIG_FIELDS>;

/** The fields of `CustomDatasetConfig`, each declared once; `name` is required. */
export const CUSTOM_DATASET_CONFIG_FIELDS = {
  name: { ...STR, required: true, doc: "The Python dataset class or function." },
  module: { ...NULL_STR, default: null, doc: "Its Python module." },
  args: {
    kind: "dict",
    value: ANY,
    nullable: true,
    default: null,
    doc: "Arguments passed to it.",
  },
  collate_fn: { ...NULL_STR, default: null, doc: "The collate function." },
  token_field: { ...NULL_STR, default: null, doc: "Field with the tokenised text." },
  collate_config: {
    kind: "object",
    schema: CUSTOM_DATASET_COLLATOR_CONFIG_SCHEMA,
    doc: "Field names for the collator (OLMo's default: the collator config's defaults; null, " +
      "which OLMo also accepts, is not).",
  },
} as const;

/** Schema of `data.custom_dataset`. */
export const CUSTOM_DATASET_CONFIG_SCHEMA: SectionSchema<typeof CUSTOM_DATASET_CONFIG_FIELDS> =
  defineSection("CustomDatasetConfig", CUSTOM_DATASET_CONFIG_FIELDS);

/** A Python dataset class to train on (OLMo later `CustomDatasetConfig`); not loadable here. */
export type CustomDatasetConfig = ConfigOf<typeof CUSTOM_DATASET_CONFIG_FIELDS>;
