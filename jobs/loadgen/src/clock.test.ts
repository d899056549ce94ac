import { describe, expect, it } from "vitest";
import { sleep, VirtualClock } from "./clock";

describe("VirtualClock", () => {
  it("fires timers in time order, equal times first-in first-out, and skips cancelled ones", async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
    const cancel = clock.setTimer(20, () => fired.push("cancelled"));
    cancel();
    await clock.run(sleep(clock, 40));
    expect(fired).toEqual(["a@10", "b@10", "c@30"]);
    expect(clock.now()).toBe(40);
  });

  it("lets promise chains settle between timers", async () => {
    const clock = new VirtualClock();
    const work = (async () => {
      await sleep(clock, 5);
      await Promise.resolve();
      await sleep(clock, 7);
      return clock.now();
    })();
    await expect(clock.run(work)).resolves.toBe(12);
  });

  it("says so when the work waits on something no timer will bring", async () => {
    const clock = new VirtualClock();
    await expect(clock.run(new Promise(() => {}))).rejects.toThrow(/no timer is left/);
  });
});
