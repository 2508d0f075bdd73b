/**
 * The `generate` command's argument parsing: defaults, choices, `--token-ids` prompts, the
 * sampler each option set builds, and clear errors for bad values.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseGenerateArgs, parseTokenIds } from "../cli/generate.ts";
import { buildSampler } from "../lib/facade/generate_text.ts";
import { TopPSampler } from "../lib/generate/samplers.ts";

Deno.test("parseGenerateArgs: defaults, choices, token ids and validation", () => {
  const opts = parseGenerateArgs(["--checkpoint", "ckpt", "Hello world"]);
  assert.deepEqual(opts, {
    checkpoint: "ckpt",
    prompt: "Hello world",
    tokenIds: null,
    beamSize: 1,
    maxSteps: 50,
    minSteps: 0,
    sampler: "greedy",
    p: 0.9,
    k: 50,
    temperature: 1,
    seed: undefined,
    noRepeatNgramSize: 0,
    lengthPenalty: undefined,
    backend: "auto",
  });
  const sampled = parseGenerateArgs([
    "--checkpoint=c",
    "--sampler",
    "top-p",
    "--p",
    "0.5",
    "--temperature",
    "0.8",
    "--seed",
    "3",
    "--backend",
    "cpu",
    "12",
  ]);
  assert.equal(sampled?.prompt, "12");
  assert.equal(sampled?.tokenIds, null);
  assert.ok(buildSampler(sampled!) instanceof TopPSampler);
  // "--no-repeat-ngram-size" is an option of its own, not the negation of another.
  const blocked = parseGenerateArgs([
    "--checkpoint",
    "c",
    "--no-repeat-ngram-size",
    "2",
    "--length-penalty",
    "0.5",
    "x",
  ]);
  assert.deepEqual(
    [blocked?.noRepeatNgramSize, blocked?.lengthPenalty, blocked?.prompt],
    [2, 0.5, "x"],
  );
  const ids = parseGenerateArgs(["--checkpoint", "c", "--token-ids", " 12, 0 7,,3 "]);
  assert.deepEqual(ids?.tokenIds, [12, 0, 7, 3]);
  assert.deepEqual(parseTokenIds("5"), [5]);
  for (const bad of ["1 2.5", "1 -2", "1 x", " , "]) {
    assert.throws(() => parseTokenIds(bad), /--token-ids: /, bad);
  }
  assert.throws(
    () => parseGenerateArgs(["--checkpoint", "c", "--token-ids", "1 two"]),
    /"two" is not a token id/,
  );
  assert.throws(() => parseGenerateArgs(["--checkpoint", "c"]), /prompt is required/);
  assert.throws(
    () => parseGenerateArgs(["--checkpoint", "c", "--sampler", "beam", "x"]),
    /sampler/,
  );
  assert.throws(() => parseGenerateArgs(["--checkpoint", "c", "--temperature", "0", "x"]), /> 0/);
  assert.throws(
    () => parseGenerateArgs(["--checkpoint", "c", "--min-steps", "9", "--max-steps", "3", "x"]),
    /must not exceed/,
  );
  assert.throws(() => parseGenerateArgs(["--checkpoint", "c", "--beam-size", "0", "x"]), /≥ 1/);
  // OLMo's top-p range, refused when parsing (TopPSampler checks it again).
  assert.throws(
    () => parseGenerateArgs(["--checkpoint", "c", "--sampler", "top-p", "--p", "2", "x"]),
    /--p must be a number in \[0, 1\], got 2/,
  );
  const okP = parseGenerateArgs(["--checkpoint", "c", "--sampler", "top-p", "--p", "0", "x"]);
  assert.ok(buildSampler(okP!) instanceof TopPSampler);
});
