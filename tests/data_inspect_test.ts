import assert from "node:assert/strict";
import { join } from "node:path";
import { IterableDataset } from "../lib/data/iterable_dataset.ts";
import { MemMapDataset } from "../lib/data/memmap_dataset.ts";
import { prepareData } from "../lib/data/prepare.ts";
import { Tokenizer } from "../lib/tokenizer/tokenizer.ts";
import { FIXTURES_DIR, HAS_SHARED, REPO_ROOT } from "./_shared.ts";

Deno.test({
  name: "inspect-data shows what each rank saw at a step of a run",
  ignore: !HAS_SHARED,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const gpt2Path = join(FIXTURES_DIR, "tokenizers", "gpt2.json");
      const tokenizer = Tokenizer.fromFile(gpt2Path);
      const c4 = [1, 2, 3].map((i) => join(FIXTURES_DIR, "c4", `c4-sample.0${i}.json.gz`));
      const { files } = await prepareData({
        inputs: c4,
        outputDir: join(dir, "tokens"),
        tokenizer,
      });
      const run = join(dir, "run");
      Deno.mkdirSync(run);
      Deno.writeTextFileSync(
        join(run, "config.yaml"),
        `seed: 11\nglobal_train_batch_size: 4\ndevice_train_microbatch_size: 2\n` +
          `model:\n  max_sequence_length: 64\n  vocab_size: 50257\n` +
          `tokenizer:\n  identifier: ${gpt2Path}\n` +
          `data:\n  paths: ${JSON.stringify(files)}\n`,
      );
      // What training writes and reads: the global order in train_data/, sliced per rank.
      using ds = new MemMapDataset(files, { chunkSize: 64 });
      const ranks = [0, 1].map((
        rank,
      ) => [
        ...new IterableDataset(ds, {
          seed: 11,
          worldSize: 2,
          rank,
          workDir: join(run, "train_data"),
        }),
      ]);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          join(REPO_ROOT, "cli", "inspect_data.ts"),
          "--run",
          run,
          "--step",
          "3",
          "--world-size",
          "2",
          "--full",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.match(stdout, /global positions \[8, 12\) of \d+ \(.*global_indices\.npy\)/);
      // Step 3 with a global batch of 4 on 2 ranks = each rank's items 4 and 5.
      for (const rank of [0, 1]) {
        const seen = ranks[rank].slice(4, 6);
        assert.match(
          stdout,
          new RegExp(`== rank ${rank}: instances ${seen.map((x) => x.index).join(", ")}\n`),
        );
        for (const item of seen) {
          assert.ok(stdout.includes(tokenizer.decode(item.inputIds, { skipSpecialTokens: false })));
        }
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
