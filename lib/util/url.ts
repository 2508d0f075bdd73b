/**
 * Telling URLs from paths, as OLMo's `is_url` (`olmo/util.py`) does for `load_path`, data paths
 * and checkpoint folders.
 *
 * @module
 */

/**
 * True when `pathOrUrl` starts with a URL scheme (`s3://`, `gs://`, `https://`, `file://`).
 * OLMo's pattern `[a-z0-9]+://` is matched case-insensitively, because URL schemes are
 * (RFC 3986 §3.1: `S3://bucket` and `s3://bucket` are the same URL).
 */
export function isUrl(pathOrUrl: string): boolean {
  return /^[a-z0-9]+:\/\//i.test(pathOrUrl);
}
