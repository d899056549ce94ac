import { threadId } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import type { FixtureTask } from "./worker-pool-fixture";
import { WorkerPool } from "./worker-pool";

const fixture = new URL("./worker-pool-fixture.ts", import.meta.url);
type Answer = { value: number; threadId: number; squares: Float64Array };
let pool: WorkerPool<FixtureTask, Answer> | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("the worker pool", () => {
  it("runs a TypeScript module on worker threads and answers each task with its own result", async () => {
    pool = new WorkerPool<FixtureTask, Answer>(fixture, 2);
    // The first task is the slowest, so answers arrive out of order; each promise still gets its own.
    const answers = await Promise.all([5, 1, 2, 3, 4].map((value, k) => pool!.run({ op: "square", value, delayMs: k === 0 ? 300 : 10 })));
    expect(answers.map((a) => a.value)).toEqual([25, 1, 4, 9, 16]);
    expect(Array.from(answers[1]!.squares)).toEqual([1, 4, 9, 16]);
    const threads = new Set(answers.map((a) => a.threadId));
    expect(threads.size).toBe(2);
    expect(threads.has(threadId)).toBe(false);
  });

  it("fails a task with its error's message and goes on", async () => {
    pool = new WorkerPool<FixtureTask, Answer>(fixture, 1);
    await expect(pool.run({ op: "fail", value: 7 })).rejects.toThrow("cannot square 7");
    expect((await pool.run({ op: "square", value: 3 })).value).toBe(9);
  });

  it("fails a task that cannot be copied to a thread, alone", async () => {
    pool = new WorkerPool<FixtureTask, Answer>(fixture, 1);
    const uncloneable = { op: "square", value: 2, delayMs: () => 1 } as unknown as FixtureTask;
    await expect(pool.run(uncloneable)).rejects.toThrow(/could not be cloned/);
    expect((await pool.run({ op: "square", value: 4 })).value).toBe(16);
  });

  it("fails the task of a thread that dies and replaces the thread", async () => {
    pool = new WorkerPool<FixtureTask, Answer>(fixture, 1);
    const first = (await pool.run({ op: "square", value: 2 })).threadId;
    await expect(pool.run({ op: "exit", value: 0 })).rejects.toThrow(/exited with code 3/);
    const after = await pool.run({ op: "square", value: 6 });
    expect(after.value).toBe(36);
    expect(after.threadId).not.toBe(first);
  });

  it("rejects queued tasks when closed, and a size that is not a positive integer", async () => {
    pool = new WorkerPool<FixtureTask, Answer>(fixture, 1);
    const running = expect(pool.run({ op: "square", value: 2, delayMs: 200 })).rejects.toThrow(/closed/);
    const queued = expect(pool.run({ op: "square", value: 3 })).rejects.toThrow(/closed/);
    await pool.close();
    await running;
    await queued;
    await expect(pool.run({ op: "square", value: 1 })).rejects.toThrow(/closed/);
    expect(() => new WorkerPool(fixture, 0)).toThrow(/workers/);
    expect(() => new WorkerPool(fixture, 1.5)).toThrow(/workers/);
  });
});
