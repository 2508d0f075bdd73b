/**
 * Hugging Face Hub ids (`allenai/OLMo-2-0425-1B`) and their URLs
 * (`https://huggingface.co/allenai/OLMo-2-0425-1B`) resolved to a snapshot folder of the local
 * Hugging Face hub cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`),
 * where `huggingface-cli download` and `from_pretrained` put models. Nothing is downloaded.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const HUB_URL = /^https?:\/\/(?:www\.)?huggingface\.co\/([^/?#]+\/[^/?#]+)\/?$/i;

/** The Hub id an identifier names: `owner/name` itself, or the id in a huggingface.co URL. */
export function hubIdOf(identifier: string): string | null {
  const fromUrl = HUB_URL.exec(identifier);
  const id = fromUrl ? fromUrl[1] : identifier;
  return HUB_ID.test(id) && !id.includes("..") ? id : null;
}

/** The local Hugging Face hub cache folder. */
export function huggingFaceHubCache(): string {
  const hfHome = Deno.env.get("HF_HOME") ?? join(homedir(), ".cache", "huggingface");
  return Deno.env.get("HF_HUB_CACHE") ?? join(hfHome, "hub");
}

/**
 * The cached snapshot folder of the Hub model `identifier` (an id or its huggingface.co URL)
 * that holds a `config.json`: the revision `refs/main` points to, else the newest snapshot by
 * name. Null when the identifier is not a Hub id or the model is not cached.
 */
export function cachedHubSnapshot(
  identifier: string,
  hubCache: string = huggingFaceHubCache(),
): string | null {
  const id = hubIdOf(identifier);
  if (id === null) return null;
  const repo = join(hubCache, `models--${id.replace("/", "--")}`);
  const snapshots = join(repo, "snapshots");
  if (!existsSync(snapshots)) return null;
  const refMain = join(repo, "refs", "main");
  const revisions = existsSync(refMain)
    ? [readFileSync(refMain, "utf8").trim()]
    : readdirSync(snapshots).sort().reverse();
  for (const rev of revisions) {
    const dir = join(snapshots, rev);
    if (existsSync(join(dir, "config.json"))) return dir;
  }
  return null;
}
