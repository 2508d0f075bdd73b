/**
 * Run under mpiexec with 2 ranks: rank 1 fails in the way named by the first argument while
 * rank 0 waits in a collective that rank 1 never joins (or, for `throw-in-flight`, sleeps while
 * rank 1's own collective is in flight). The job must stop with a non-zero code.
 * Modes: throw, throw-in-flight, reject, exit0, end (the script ends without finalize()),
 * exit CODE.
 *
 * @module
 */
import { initWorld } from "../../lib/distributed/world.ts";

const [mode, code] = [Deno.args[0], Number(Deno.args[1] ?? "0")];
const world = await initWorld();
await world.allReduceSum(new Float32Array(16)); // both ranks are up and connected

if (world.rank === 0) {
  if (mode === "throw-in-flight") await new Promise((resolve) => setTimeout(resolve, 60_000));
  await world.allReduceSum(new Float32Array(1024)); // never completes: rank 1 does not join
  console.log("rank 0: collective completed, which it must not");
} else {
  await new Promise((resolve) => setTimeout(resolve, 200)); // rank 0 is blocked by now
  if (mode === "throw") throw new Error("rank 1 fails on purpose");
  if (mode === "throw-in-flight") {
    // Our own collective is in flight on the thread pool when the error is raised.
    const pending = world.allReduceSum(new Float32Array(1024));
    setTimeout(() => {
      throw new Error("rank 1 fails while its collective is in flight");
    }, 100);
    await pending;
  }
  if (mode === "reject") Promise.reject(new Error("rank 1 rejects on purpose"));
  if (mode === "exit0") Deno.exit(0);
  if (mode === "exit") Deno.exit(code);
  if (mode !== "end") await new Promise((resolve) => setTimeout(resolve, 60_000));
}
