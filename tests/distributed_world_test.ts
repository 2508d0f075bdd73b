import assert from "node:assert/strict";
import { detectLauncher } from "../lib/distributed/launcher_env.ts";
import { mpiLibraryCandidates } from "../lib/distributed/mpi_library.ts";
import { initWorld, rankPrefix, SingleProcessWorld } from "../lib/distributed/world.ts";
import { DENO, run } from "./distributed/run.ts";
import { makeTinyEnv, writeTinyConfigYaml } from "./_train_fixture.ts";

/** An environment reader over a fixed map. */
function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

Deno.test("detectLauncher: Open MPI, then PMI, then an srun step; a bare sbatch is no launch", () => {
  assert.equal(detectLauncher(envOf({})), null);
  assert.deepEqual(detectLauncher(envOf({ PMI_SIZE: "4", PMI_RANK: "1" })), {
    kind: "pmi",
    sizeVariable: "PMI_SIZE",
    size: 4,
  });
  // mpiexec inside a Slurm allocation: the launcher's own size wins over the srun step's.
  assert.equal(
    detectLauncher(envOf({ OMPI_COMM_WORLD_SIZE: "8", SLURM_STEP_NUM_TASKS: "2" }))?.size,
    8,
  );
  assert.equal(detectLauncher(envOf({ PMI_SIZE: "3", SLURM_STEP_NUM_TASKS: "1" }))?.size, 3);
  assert.equal(detectLauncher(envOf({ SLURM_STEP_NUM_TASKS: "16" }))?.kind, "slurm");
  assert.equal(detectLauncher(envOf({ SLURM_NTASKS: "16", SLURM_PROCID: "0" })), null);
  assert.throws(() => detectLauncher(envOf({ PMI_SIZE: "two" })), /PMI_SIZE=two/);
});

Deno.test("mpiLibraryCandidates: chosen by launcher, MPI_LIB overrides", () => {
  assert.deepEqual(mpiLibraryCandidates(envOf({ MPI_LIB: "/opt/x/libmpi.so" })), [
    "/opt/x/libmpi.so",
  ]);
  assert.equal(mpiLibraryCandidates(envOf({ OMPI_COMM_WORLD_SIZE: "2" }))[0], "libmpi.so.40");
  assert.equal(mpiLibraryCandidates(envOf({ PMI_SIZE: "2" }))[0], "libmpich.so.12");
  assert.equal(mpiLibraryCandidates(envOf({}))[0], "libmpich.so.12");
});

Deno.test("SingleProcessWorld: identities, argument checks and finalize", async () => {
  const world = new SingleProcessWorld(envOf({ FS_LOCAL_RANK: "3" }));
  assert.equal(world.fsLocalRank, 3);
  const out = new Float32Array(3);
  await world.reduceScatterSum(Float32Array.of(1, 2, 3), out);
  assert.deepEqual(out, Float32Array.of(1, 2, 3));
  const gathered = new Float64Array(2);
  await world.allGather(Float64Array.of(7, 8), gathered);
  assert.deepEqual(gathered, Float64Array.of(7, 8));
  await assert.rejects(
    () => world.reduceScatterSum(new Float32Array(4), new Float32Array(3)),
    /input has 4 elements, expected world size 1 × output length 3 = 3/,
  );
  await assert.rejects(
    () => world.allGather(new Float32Array(2), new Float64Array(2)),
    /shard is Float32Array but output is Float64Array/,
  );
  const shared = new Float32Array(4);
  await assert.rejects(
    () => world.reduceScatterSum(shared.subarray(0, 2), shared.subarray(1, 3)),
    /input and output overlap/,
  );
  await assert.rejects(() => world.broadcast(new Uint8Array(2), 1), /root 1 is not a rank/);
  await world.finalize();
  await assert.rejects(() => world.barrier(), /barrier called after finalize/);
  assert.equal(rankPrefix({ rank: 2, size: 8 }), "[rank 2/8]");
});

Deno.test("initWorld: no launcher and no MPI_LIB gives the single-process world", async () => {
  const world = await initWorld({ env: envOf({}) });
  assert.ok(world instanceof SingleProcessWorld);
  assert.deepEqual([world.rank, world.size], [0, 1]);
  assert.equal(Deno.env.get("WORLD_SIZE"), undefined, "initWorld leaves the environment alone");
  await world.finalize();
});

/** An environment without any launcher variable or MPI_LIB: what a plain shell gives. */
function plainEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "" };
  for (const name of ["HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

Deno.test("initWorld without a launcher loads no library (runs without --allow-ffi)", async () => {
  const env = plainEnv();
  const result = await run(DENO, ["run", "--allow-env", "tests/distributed/single_process.ts"], {
    env,
    clearEnv: true,
    timeoutMs: 30_000,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /OK single/);
});

Deno.test("a missing MPI library fails with the list of tried libraries and an install hint", async () => {
  const result = await run(DENO, ["run", "-A", "tests/distributed/single_process.ts"], {
    env: { MPI_LIB: "/nonexistent/libmpi.so" },
    timeoutMs: 30_000,
  });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /No MPI library found \(tried \/nonexistent\/libmpi\.so\)/);
  assert.match(result.stderr, /apt install mpich/);
});

Deno.test("cli/train.ts without a launcher trains as world size 1 with no MPI (no --allow-ffi)", async () => {
  // Without --allow-ffi any dlopen (of MPI or anything else) throws, as if MPI were not installed.
  const tiny = await makeTinyEnv();
  try {
    const config = `${tiny.dir}/tiny.yaml`;
    const saveFolder = `${tiny.dir}/run`;
    await writeTinyConfigYaml(tiny, config, saveFolder, {
      max_duration: 2,
      save_interval_unsharded: 2,
    });
    const result = await run(DENO, [
      ...["run", "--allow-read", "--allow-write", "--allow-env", "cli/train.ts", config],
    ], { env: plainEnv(), clearEnv: true, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /training stopped at step 2/);
    const trainer = JSON.parse(await Deno.readTextFile(`${saveFolder}/step2-unsharded/train.json`));
    assert.equal(trainer.world_size, 1);
  } finally {
    await Deno.remove(tiny.dir, { recursive: true });
  }
});
