/**
 * The config system: OLMo's `TrainConfig` schema, YAML loading with OmegaConf-style overrides and
 * interpolation, saving, start-up derivations and OLMo's override tokenizer (which `lib/command` builds on).
 *
 * @module
 */
export * from "./enums.ts";
export type {
  ActivationType,
  BlockType,
  InitFnType,
  LayerNormType,
  ModelConfig,
} from "./model_config.ts";
export {
  ACTIVATION_TYPES,
  BLOCK_TYPES,
  defaultModelConfig,
  INIT_FN_TYPES,
  LAYER_NORM_TYPES,
} from "./model_config.ts";
export type {
  DataConfig,
  EvaluatorConfig,
  OptimizerConfig,
  SchedulerConfig,
  SpeedMonitorConfig,
  TokenizerConfig,
  WandbConfig,
} from "./sections.ts";
export {
  defaultDataConfig,
  defaultEvaluatorConfig,
  defaultOptimizerConfig,
  defaultSchedulerConfig,
  defaultSpeedMonitorConfig,
  defaultTokenizerConfig,
  defaultWandbConfig,
} from "./sections.ts";
export type { CompilerConfig, DDPConfig, FSDPConfig, SingleGPUConfig } from "./torch_sections.ts";
export type {
  CustomDatasetCollatorConfig,
  CustomDatasetConfig,
  InstanceFilterConfig,
} from "./dataset_sections.ts";
export { defaultCompilerConfig, defaultFSDPConfig } from "./torch_sections.ts";
export type { TrainConfig } from "./train_config.ts";
export { defaultTrainConfig } from "./train_config.ts";
export { ConfigError, InterpolationError, PathNotFoundError } from "./errors.ts";
export type { CheckTrainConfigOptions } from "./checks.ts";
export { checkTrainConfig, trainConfigViolations } from "./checks.ts";
export type { LoadOptions } from "./load.ts";
export {
  loadConfigSection,
  loadTrainConfig,
  saveTrainConfig,
  trainConfigFromObject,
  trainConfigToYaml,
} from "./load.ts";
export type { ResolverContext, ResolverFn } from "./resolvers.ts";
export { registerResolver } from "./resolvers.ts";
export { globPaths } from "./glob.ts";
export type { Duration, DurationContext } from "./duration.ts";
export { durationToSteps, parseDuration } from "./duration.ts";
export { deriveTrainConfig, tfjsCompatibilityWarnings } from "./derive.ts";
export type { CliParser, ParsedArgs } from "./cli.ts";
export { buildCli, configFieldsHelp, overridesFromArgs, trainUsage } from "./cli.ts";
