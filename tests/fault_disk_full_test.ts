/**
 * A full disk during a checkpoint save (issue 15), on a small tmpfs the test mounts (root only;
 * skipped with a message elsewhere): the save fails naming the folder and the free space, the
 * partial `step{N}-tmp/` is gone, `latest` still names the previous complete checkpoint, and a
 * restart from it, once there is space, continues exactly as an uninterrupted run.
 *
 * @module
 */
import assert from "node:assert/strict";
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { loadCheckpoint } from "../lib/checkpoint/trainer/load.ts";
import { CheckpointDiskFullError } from "../lib/checkpoint/trainer/save_failure.ts";
import { runTraining } from "../lib/train/run.ts";
import { SILENT_LOGGER } from "../lib/train/log.ts";
import { assertBitExact } from "./_cli.ts";
import { makeTinyEnv, tinyTrainConfig } from "./_train_fixture.ts";

const QUIET = { logger: SILENT_LOGGER, progress: { silent: true } };

/** Runs a command; its exit code and stderr. */
async function sh(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } catch (e) {
    return { code: -1, stderr: (e as Error).message };
  }
}

/** Mounts a tmpfs of `size` at `dir`; null when it works, else why not. */
async function mountTmpfs(dir: string, size: string): Promise<string | null> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  const r = await sh("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  return r.code === 0 ? null : `mount failed: ${r.stderr.trim()}`;
}

const PROBE = await Deno.makeTempDir({ prefix: "olmo-ts-tmpfs-probe-" });
const CANNOT_MOUNT = await mountTmpfs(PROBE, "64k");
if (CANNOT_MOUNT === null) await sh("umount", [PROBE]);
await Deno.remove(PROBE);
if (CANNOT_MOUNT !== null) {
  console.log(`fault_disk_full_test: skipped, cannot create a tmpfs (${CANNOT_MOUNT})`);
}

/** Bytes free on the file system holding `path`. */
async function free(path: string): Promise<number> {
  const s = await statfs(path);
  return Number(s.bavail) * Number(s.bsize);
}

/** Total bytes of the files under `dir`. */
async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    n += e.isDirectory ? await folderBytes(p) : (await Deno.stat(p)).size;
  }
  return n;
}

Deno.test({
  name: "full disk during a checkpoint save: clear error, no -tmp, latest intact, restart works",
  ignore: CANNOT_MOUNT !== null,
  fn: async () => {
    const env = await makeTinyEnv();
    const disk = join(env.dir, "disk");
    await Deno.mkdir(disk);
    assert.equal(await mountTmpfs(disk, "2m"), null);
    try {
      const settings = { save_interval: 1, save_interval_unsharded: null, max_duration: 6 };
      const reference = await runTraining(
        await tinyTrainConfig(env, join(env.dir, "reference"), settings),
        QUIET,
      );
      const run = join(disk, "run");
      const first = await runTraining(
        await tinyTrainConfig(env, run, { ...settings, stop_at: 3 }), // same schedule as 6 steps
        QUIET,
      );
      assert.deepEqual(first.fit?.losses, reference.fit?.losses.slice(0, 3));
      assert.equal(await Deno.readLink(join(run, "latest")), "step3");

      // Leave room for the metrics lines but not for another checkpoint.
      const checkpoint = await folderBytes(join(run, "step3"));
      const filler = join(disk, "filler");
      const fill = (await free(disk)) - Math.floor(checkpoint / 2);
      await Deno.writeFile(filler, new Uint8Array(fill));
      const resume = { ...settings, load_path: join(run, "latest") };
      await assert.rejects(
        runTraining(await tinyTrainConfig(env, run, resume), QUIET),
        (e: Error) => {
          assert.ok(e instanceof CheckpointDiskFullError, String(e));
          assert.equal(e.folder, run);
          assert.ok(e.freeBytes !== null && e.freeBytes < checkpoint, `${e.freeBytes} free`);
          assert.match(e.message, /checkpoint for step 4 does not fit/);
          assert.ok(e.message.includes(`the disk holding ${run} is full (`), e.message);
          assert.match(e.message, /\d+(\.\d)? (B|KiB|MiB) free/);
          assert.match(e.message, /No space left on device/);
          return true;
        },
      );
      const names = [...Deno.readDirSync(run)].map((e) => e.name).sort();
      assert.ok(!names.some((n) => n.endsWith("-tmp")), names.join(", "));
      assert.ok(!names.includes("step4"), names.join(", "));
      assert.equal(await Deno.readLink(join(run, "latest")), "step3");
      await loadCheckpoint(join(run, "latest")); // complete and readable

      // With space again, the restart continues exactly as the uninterrupted run.
      await Deno.remove(filler);
      const second = await runTraining(await tinyTrainConfig(env, run, resume), QUIET);
      assert.deepEqual(second.fit?.losses, reference.fit?.losses.slice(3));
      const [got, want] = await Promise.all([
        loadCheckpoint(join(run, "step6")),
        loadCheckpoint(join(env.dir, "reference", "step6")),
      ]);
      assertBitExact(got.model, want.model!, "step6 model");
    } finally {
      await sh("umount", ["-l", disk]);
      await Deno.remove(env.dir, { recursive: true });
    }
  },
});
