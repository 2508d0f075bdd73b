import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { buildLaunchCommand, parseHostfile } from "../lib/distributed/launch_command.ts";
import { DENO, HAS_MPICH, HAS_OPENMPI, run } from "./distributed/run.ts";
import { REPO_ROOT } from "./_shared.ts";

const base = { denoPath: "/bin/deno", script: "train.ts", scriptArgs: ["cfg.yaml", "--x=1"] };

Deno.test("buildLaunchCommand: MPICH on one node and on several", () => {
  assert.deepEqual(buildLaunchCommand({ ...base, nprocPerNode: 2, mpi: "mpich" }), {
    command: "mpiexec.mpich",
    args: [
      ...["-genv", "MPI_LIB", "libmpich.so.12", "-n", "2"],
      ...["/bin/deno", "run", "-A", "train.ts", "cfg.yaml", "--x=1"],
    ],
  });
  const hosts = buildLaunchCommand({ ...base, nprocPerNode: 4, mpi: "mpich", hosts: ["a", "b"] });
  assert.deepEqual(hosts.args.slice(0, 9), [
    ...["-genv", "MPI_LIB", "libmpich.so.12", "-hosts", "a,b", "-ppn", "4", "-n", "8"],
  ]);
  const file = buildLaunchCommand({
    ...base,
    nprocPerNode: 3,
    mpi: "mpich",
    hostfile: "hf",
    hosts: ["a", "b", "c"],
    mpiLib: "/opt/libmpi.so.12",
  });
  assert.deepEqual(file.args.slice(0, 10), [
    ...["-genv", "MPI_LIB", "/opt/libmpi.so.12", "-f", "hf", "-ppn", "3", "-n", "9"],
    "/bin/deno",
  ]);
});

Deno.test("buildLaunchCommand: Open MPI oversubscribes, allows root, exports env to remote ranks", () => {
  const single = buildLaunchCommand({ ...base, nprocPerNode: 2, mpi: "openmpi", isRoot: true });
  assert.equal(single.command, "mpiexec.openmpi");
  assert.deepEqual(single.args.slice(0, 6), [
    ...["--oversubscribe", "--allow-run-as-root", "-x", "MPI_LIB=libmpi.so.40", "-n", "2"],
  ]);
  const multi = buildLaunchCommand({
    ...base,
    nprocPerNode: 2,
    mpi: "openmpi",
    hosts: ["a", "b"],
    forwardEnv: ["OLMO_X"],
  });
  assert.deepEqual(multi.args.slice(0, 9), [
    ...["--oversubscribe", "-x", "MPI_LIB=libmpi.so.40", "-x", "OLMO_X"],
    ...["--host", "a:2,b:2", "-n", "4"],
  ]);
  assert.throws(
    () => buildLaunchCommand({ ...base, nprocPerNode: 0, mpi: "mpich" }),
    /0: expected/,
  );
  assert.throws(
    () => buildLaunchCommand({ ...base, nprocPerNode: 1, mpi: "mpich", hostfile: "hf" }),
    /hostfile hf: the list of its hosts is required/,
  );
});

Deno.test("parseHostfile: MPICH and Open MPI formats, comments, duplicates", () => {
  const text = "# cluster\nnode1:4\nnode2 slots=4\n\nnode1:4  # again\n";
  assert.deepEqual(parseHostfile(text, "hf"), ["node1", "node2"]);
  assert.throws(() => parseHostfile("# only a comment\n", "hf"), /hostfile hf: no host names/);
});

Deno.test("launch --dry-run: options stop at SCRIPT, the script's args pass through untouched", async () => {
  const result = await run(DENO, [
    ...["run", "-A", "cli/launch.ts", "--nproc_per_node=3", "--dry-run"],
    ...["train.ts", "--nproc-per-node=5", "007", "--", "--mpi=openmpi"],
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout.trim(),
    `mpiexec.mpich -genv MPI_LIB libmpich.so.12 -n 3 ${DENO} run -A train.ts ` +
      "--nproc-per-node=5 007 -- --mpi=openmpi",
  );
});

/** The launcher's environment without MPI_LIB or stray variables, plus `extra`. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "", ...extra };
  for (const name of ["HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

Deno.test("launch --dry-run --hostfile: two nodes for MPICH and for Open MPI", async () => {
  const dir = await Deno.makeTempDir({ prefix: "olmo-ts-launch-" });
  try {
    const hostfile = `${dir}/hosts.txt`;
    await Deno.writeTextFile(hostfile, "# two nodes\nnode-a:8\nnode-b:8\n");
    const env = cleanEnv({ OLMO_AUDIT_FLAG: "1" });
    const launch = (flavor: string) =>
      run(DENO, [
        ...["run", "-A", "cli/launch.ts", `--mpi=${flavor}`, "--nproc-per-node=2"],
        ...["--hostfile", hostfile, "--dry-run", "train.ts", "cfg.yaml"],
      ], { env, clearEnv: true });
    const rankCommand = `${DENO} run -A train.ts cfg.yaml`;
    const mpich = await launch("mpich");
    assert.equal(mpich.code, 0, mpich.stderr);
    assert.equal(
      mpich.stdout.trim(),
      `mpiexec.mpich -genv MPI_LIB libmpich.so.12 -f ${hostfile} -ppn 2 -n 4 ${rankCommand}`,
    );
    const openmpi = await launch("openmpi");
    assert.equal(openmpi.code, 0, openmpi.stderr);
    const root = Deno.uid() === 0 ? "--allow-run-as-root " : "";
    // Open MPI forwards OLMO_*/DENO_* variables by name, sorted (DENO_DIR when the tests have it).
    const forwarded = Object.keys(env).filter((n) => /^(OLMO_|DENO_)/.test(n)).sort()
      .map((n) => `-x ${n} `).join("");
    assert.equal(
      openmpi.stdout.trim(),
      `mpiexec.openmpi --oversubscribe ${root}-x MPI_LIB=libmpi.so.40 ${forwarded}` +
        `--hostfile ${hostfile} --npernode 2 -n 4 ${rankCommand}`,
    );
    const hosts = await run(DENO, [
      ...["run", "-A", "cli/launch.ts", "--hosts", "node-a,node-b,node-c", "--nproc-per-node=2"],
      ...["--dry-run", "train.ts"],
    ], { env, clearEnv: true });
    assert.equal(hosts.code, 0, hosts.stderr);
    assert.equal(
      hosts.stdout.trim(),
      `mpiexec.mpich -genv MPI_LIB libmpich.so.12 -hosts node-a,node-b,node-c -ppn 2 -n 6 ` +
        `${DENO} run -A train.ts`,
    );
    const empty = `${dir}/empty.txt`;
    await Deno.writeTextFile(empty, "# nothing\n");
    const bad = await run(DENO, [
      ...["run", "-A", "cli/launch.ts", "--hostfile", empty, "train.ts"],
    ], { env, clearEnv: true });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /hostfile .*empty\.txt: no host names found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launch: bad options and a missing SCRIPT exit 2 with a message", async () => {
  const bogus = await run(DENO, ["run", "-A", "cli/launch.ts", "--bogus=1", "train.ts"]);
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /unknown option --bogus/);
  const none = await run(DENO, ["run", "-A", "cli/launch.ts", "--nproc-per-node=2"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /SCRIPT is required/);
});

Deno.test("launch: a missing mpiexec exits 127 with an install hint", async () => {
  const result = await run(DENO, ["run", "-A", "cli/launch.ts", "--mpi=openmpi", "train.ts"], {
    env: { PATH: "/nonexistent" },
  });
  assert.equal(result.code, 127);
  assert.match(result.stderr, /'mpiexec\.openmpi' was not found on PATH/);
  assert.match(result.stderr, /apt install openmpi-bin/);
});

Deno.test({
  name: "launch: forwards the exit code of a rank that exits 3",
  ignore: !HAS_MPICH,
  fn: async () => {
    const result = await run(DENO, [
      ...["run", "-A", "cli/launch.ts", "--nproc-per-node=2"],
      ...["tests/distributed/failing_rank.ts", "exit", "3"],
    ], { timeoutMs: 30_000 });
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 3, result.stdout + result.stderr);
  },
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    name: `launch: ${signal} to the launcher stops every rank and exits non-zero`,
    ignore: !HAS_MPICH,
    fn: async () => {
      const child = new Deno.Command(DENO, {
        args: ["run", "-A", "cli/launch.ts", "--nproc-per-node=2", "tests/distributed/sleeper.ts"],
        cwd: REPO_ROOT,
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const pids: number[] = [];
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (pids.length < 2) {
        const { value, done } = await lines.read();
        if (done) break;
        text += value;
        pids.splice(0, pids.length, ...[...text.matchAll(/^ready (\d+)$/gm)].map((m) => +m[1]));
      }
      assert.equal(pids.length, 2, `both ranks report ready, got: ${text}`);
      child.kill(signal);
      const status = await child.status;
      await lines.cancel();
      clearTimeout(guard);
      assert.notEqual(status.code, 0);
      assert.equal(status.signal, null, "the launcher exits by itself, not by the signal");
      for (let i = 0; i < 50 && pids.some((pid) => existsSync(`/proc/${pid}`)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(pids.filter((pid) => existsSync(`/proc/${pid}`)), [], "ranks still alive");
    },
  });
}

Deno.test({
  name: "launch --mpi=openmpi, 2 ranks: the collectives are correct with the Open MPI ABI",
  ignore: !HAS_OPENMPI,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "olmo-ts-mpi-" });
    try {
      const result = await run(DENO, [
        ...["run", "-A", "cli/launch.ts", "--mpi=openmpi", "--nproc-per-node=2"],
        ...["tests/distributed/collectives.ts", "2", dir],
      ], { timeoutMs: 60_000 });
      assert.equal(result.timedOut, false);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      for (const r of [0, 1]) assert.match(result.stdout, new RegExp(`^OK rank ${r} openmpi`, "m"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
