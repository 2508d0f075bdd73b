/**
 * MPI tests: each spawns a small job under `mpiexec.mpich` (skipped when MPICH is not installed).
 * The rank scripts live in tests/distributed/ and abort the job on a failed check.
 */
import assert from "node:assert/strict";
import { DENO, HAS_MPICH, HAS_OPENMPI, run, runMpich } from "./distributed/run.ts";
import { withTempDir } from "./_temp_dir.ts";

function assertRanksOk(stdout: string, n: number): void {
  for (let r = 0; r < n; r++) assert.match(stdout, new RegExp(`^OK rank ${r}\\b`, "m"));
}

Deno.test({
  name: "MPICH, 2 ranks: allreduce, reduce-scatter, allgather, bcast, barrier, queued collectives",
  ignore: !HAS_MPICH,
  fn: () =>
    withTempDir(async (dir) => {
      const result = await runMpich(2, "tests/distributed/collectives.ts", ["2", dir]);
      assert.equal(result.timedOut, false);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assertRanksOk(result.stdout, 2);
      assert.match(result.stdout, /mpich \(libmpich\.so\.12\)/);
    }),
});

Deno.test({
  name: "MPICH without a launcher but with MPI_LIB: an MPI singleton of size 1",
  ignore: !HAS_MPICH,
  fn: () =>
    withTempDir(async (dir) => {
      const result = await run(DENO, ["run", "-A", "tests/distributed/collectives.ts", "1", dir], {
        env: { MPI_LIB: "libmpich.so.12" },
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assertRanksOk(result.stdout, 1);
    }),
});

Deno.test({
  name: "MPICH, 2 ranks: the collective benchmark times every collective",
  ignore: !HAS_MPICH,
  fn: async () => {
    const result = await runMpich(2, "tests/distributed/bench_collectives.ts");
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assertRanksOk(result.stdout, 2);
  },
});

for (const mode of ["throw", "throw-in-flight", "reject", "exit0", "end"]) {
  Deno.test({
    name: `MPICH: a failing rank (${mode}) stops the whole job with exit code 1`,
    ignore: !HAS_MPICH,
    fn: async () => {
      // Without the abort handlers, rank 0 would wait forever (or exit0 would report success).
      const result = await runMpich(2, "tests/distributed/failing_rank.ts", [mode], {
        timeoutMs: 20_000,
      });
      assert.equal(result.timedOut, false, "the job did not stop by itself");
      assert.equal(result.code, 1, result.stdout + result.stderr);
      // (The rank's "aborting the MPI job" message is usually, not always, forwarded before
      // the launcher exits, so it is not checked.)
      assert.doesNotMatch(result.stdout, /collective completed/);
    },
  });
}

Deno.test({
  name: "mpiexec.mpich with the Open MPI library: 'wrong MPI library' and exit code 2",
  ignore: !HAS_MPICH || !HAS_OPENMPI,
  fn: () =>
    withTempDir(async (dir) => {
      const result = await run("mpiexec.mpich", [
        "-n",
        "2",
        "-genv",
        "MPI_LIB",
        "libmpi.so.40",
        DENO,
        "run",
        "-A",
        "tests/distributed/collectives.ts",
        "2",
        dir,
      ], { timeoutMs: 30_000 });
      assert.equal(result.timedOut, false);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(
        result.stdout + result.stderr,
        /wrong MPI library for this launcher: PMI_SIZE=2/,
      );
    }),
});

Deno.test({
  name: "mpiexec.openmpi with the MPICH library: 'wrong MPI library' and exit code 2",
  ignore: !HAS_MPICH || !HAS_OPENMPI,
  fn: () =>
    withTempDir(async (dir) => {
      const result = await run("mpiexec.openmpi", [
        ...["--oversubscribe", "--allow-run-as-root", "-x", "MPI_LIB=libmpich.so.12", "-n", "2"],
        ...[DENO, "run", "-A", "tests/distributed/collectives.ts", "2", dir],
      ], { timeoutMs: 30_000 });
      assert.equal(result.timedOut, false);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(
        result.stdout + result.stderr,
        /wrong MPI library for this launcher: OMPI_COMM_WORLD_SIZE=2 but MPI_Comm_size=1/,
      );
    }),
});

Deno.test({
  name: "mpiexec.openmpi without MPI_LIB: the ranks pick the Open MPI library from its environment",
  ignore: !HAS_OPENMPI,
  fn: () =>
    withTempDir(async (dir) => {
      const result = await run("mpiexec.openmpi", [
        ...["--oversubscribe", "--allow-run-as-root", "-n", "2"],
        ...[DENO, "run", "-A", "tests/distributed/collectives.ts", "2", dir],
      ], { timeoutMs: 30_000 });
      assert.equal(result.timedOut, false);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      for (const r of [0, 1]) {
        assert.match(
          result.stdout,
          new RegExp(`^OK rank ${r} openmpi \\(libmpi\\.so\\.40\\)`, "m"),
        );
      }
    }),
});
