import { describe, expect, it } from "vitest";
import { commandAfterSeparator, exitCodeOf } from "./child-command";

describe("commandAfterSeparator", () => {
  it("takes everything after the first --", () => {
    expect(commandAfterSeparator(["--", "turbo", "run", "test:integration", "--", "--x"])).toEqual([
      "turbo",
      "run",
      "test:integration",
      "--",
      "--x",
    ]);
    expect(commandAfterSeparator(["echo", "hi"])).toEqual(["echo", "hi"]);
    expect(commandAfterSeparator(["--"])).toEqual([]);
  });
});

describe("exitCodeOf", () => {
  it("passes exit codes through and maps signals to 128+n like a shell", () => {
    expect(exitCodeOf(0, null)).toBe(0);
    expect(exitCodeOf(7, null)).toBe(7);
    expect(exitCodeOf(null, "SIGINT")).toBe(130);
    expect(exitCodeOf(null, "SIGTERM")).toBe(143);
    expect(exitCodeOf(null, "SIGKILL")).toBe(137);
    expect(exitCodeOf(null, null)).toBe(1);
  });
});
