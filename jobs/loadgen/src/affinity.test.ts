import { describe, expect, it } from "vitest";
import { allowedCpus, parseCpuList, planPinning } from "./affinity";

describe("pinning plans", () => {
  it("reads CPU lists as the kernel and taskset write them", () => {
    expect(parseCpuList("0")).toEqual([0]);
    expect(parseCpuList("0-3,6")).toEqual([0, 1, 2, 3, 6]);
    expect(() => parseCpuList("1-0")).toThrow(/runs backwards/);
    expect(() => parseCpuList("a")).toThrow(/is not a CPU list/);
  });

  it("gives the generator the first CPU and the target the rest, or nothing on one CPU", () => {
    expect(planPinning("auto", "0-3")).toEqual({ generator: "0", target: "1,2,3" });
    expect(planPinning("auto", "2,5")).toEqual({ generator: "2", target: "5" });
    expect(planPinning("auto", "0")).toBeNull();
    expect(planPinning("0:1", "0-1")).toEqual({ generator: "0", target: "1" });
  });

  it("refuses plans that overlap, name CPUs out of reach, or are not plans", () => {
    expect(() => planPinning("0-1:1", "0-1")).toThrow(/^--pin: the generator and the target share CPU 1/);
    expect(() => planPinning("0:7", "0-1")).toThrow(/^--pin: CPU 7 is not one this process may use \(0-1\)/);
    expect(() => planPinning("0", "0-1")).toThrow(/^--pin: must be auto or GENERATOR_CPUS:TARGET_CPUS/);
  });

  it("reads this process's allowed CPUs from the kernel", () => {
    expect(parseCpuList(allowedCpus() ?? "").length).toBeGreaterThan(0);
    expect(allowedCpus(2 ** 22 + 1)).toBeNull();
  });
});
