/**
 * What the server's JSON API tells the pages about the served folders (shared by the server and
 * the browser pages, so no Deno API here).
 *
 * @module
 */

/** What the playground learns about a served checkpoint (`GET /api/checkpoints`). */
export interface CheckpointListing {
  /** Folder id. */
  id: string;
  /** Path as given. */
  label: string;
  /** The weight files present, preferred first. */
  weights: string[];
  /** Whether `GET /api/checkpoints/{id}/tokenizer.json` has a tokenizer. */
  tokenizer: boolean;
  /** Why there is no tokenizer (the page then takes token ids), or null. */
  tokenizerError: string | null;
}

/** What the dashboard learns about a served run (`GET /api/runs`). */
export interface RunListing {
  /** Folder id. */
  id: string;
  /** Path as given. */
  label: string;
  /** Folder name, the legend entry. */
  name: string;
  /** Whether the run has a `config.yaml`. */
  config: boolean;
  /** Whether the run has a `metrics.jsonl` yet. */
  metrics: boolean;
  /** Checkpoint folders (`step{N}`, `step{N}-unsharded`), by step. */
  checkpoints: { name: string; step: number; sharded: boolean }[];
  /** Where `latest` and `latest-unsharded` point, when they exist. */
  latest: Record<string, string>;
}
