/**
 * `deno task serve`: the web server of the playground and dashboard, the folders it serves, and
 * the build of the pages' browser bundle.
 *
 * @module
 */
export type { CheckpointListing, RunListing } from "./listings.ts";
export {
  checkServedFolders,
  type ServedFolder,
  servedFolders,
  WEIGHT_FILES,
} from "./served_folders.ts";
export {
  PortInUseError,
  type RunningServer,
  type ServerAssets,
  type ServerOptions,
  startServer,
} from "./server.ts";
export { buildWebBundle, ensureWebBundle, webBundleIsStale } from "./web_bundle.ts";
