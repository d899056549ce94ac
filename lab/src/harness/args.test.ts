import { describe, expect, it } from "vitest";
import { LabUsageError, parseLabArgs } from "./args";

describe("parseLabArgs", () => {
  it("reads claim ids and flags", () => {
    expect(parseLabArgs(["claim", "11", "x2", "--quick", "--seeds", "5"])).toEqual({ kind: "claim", ids: ["11", "x2"], quick: true, seeds: 5, out: undefined });
    expect(parseLabArgs(["all", "--only", "6, 11", "--out", "/tmp/x"])).toEqual({ kind: "all", quick: false, seeds: undefined, out: "/tmp/x", only: ["6", "11"] });
    expect(parseLabArgs(["list"])).toEqual({ kind: "list" });
    expect(parseLabArgs([])).toEqual({ kind: "help" });
  });

  it("rejects a missing id, bad seeds and unknown commands with the usage", () => {
    expect(() => parseLabArgs(["claim"])).toThrow(LabUsageError);
    expect(() => parseLabArgs(["claim", "11", "--seeds", "0"])).toThrow(/--seeds must be a positive integer/);
    expect(() => parseLabArgs(["claim", "11", "--seeds", "2.5"])).toThrow(/--seeds/);
    expect(() => parseLabArgs(["frobnicate"])).toThrow(/unknown command/);
    expect(() => parseLabArgs(["claim", "11", "--nope"])).toThrow(LabUsageError);
  });
});
