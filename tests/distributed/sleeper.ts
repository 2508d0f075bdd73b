/**
 * Run under mpiexec: prints `ready PID` once every rank is up, then sleeps for a minute, so a
 * test can signal the launcher and check that the ranks go away.
 *
 * @module
 */
import { initWorld } from "../../lib/distributed/world.ts";

const world = await initWorld();
await world.barrier();
console.log(`ready ${Deno.pid}`);
await new Promise((resolve) => setTimeout(resolve, 60_000));
await world.finalize();
