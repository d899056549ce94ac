import { setTimeout as sleep } from "node:timers/promises";
import { threadId } from "node:worker_threads";
import { serveTasks } from "./worker-pool";

// A module for worker-pool.test.ts: squares numbers (after an optional delay), fails, or exits.
export interface FixtureTask {
  op: "square" | "fail" | "exit";
  value: number;
  delayMs?: number;
}

serveTasks<FixtureTask, { value: number; threadId: number; squares: Float64Array<ArrayBuffer> }>(async (task) => {
  if (task.delayMs) await sleep(task.delayMs);
  if (task.op === "fail") throw new RangeError(`cannot square ${task.value}`);
  if (task.op === "exit") process.exit(3);
  const squares = Float64Array.from({ length: 4 }, (_, k) => (task.value + k) ** 2);
  return { result: { value: task.value ** 2, threadId, squares }, transfer: [squares.buffer] };
});
