import { describe, expect, it } from "vitest";
import { DEFAULT_BUDGETS_PATH, parseCommand, runCommand, USAGE } from "./command";

describe("parseCommand", () => {
  it("reads the documented flags with their defaults", () => {
    const o = parseCommand(["--target", "fraud", "--url", "http://127.0.0.1:8081", "--rate", "1000", "--duration", "30", "--warmup", "5", "--ramp", "250,500,1000,2000", "--gate", "--report", "reports/"]);
    expect(o).toMatchObject({
      target: "fraud",
      url: "http://127.0.0.1:8081",
      rate: 1000,
      durationMs: 30_000,
      warmupMs: 5000,
      ramp: [250, 500, 1000, 2000],
      stepDurationMs: 10_000,
      gate: true,
      reportDir: "reports/",
      arrivals: "constant",
      budgetsPath: DEFAULT_BUDGETS_PATH,
      invalidShare: 0,
    });
    expect(parseCommand(["--target", "recs", "--url", "http://x:1", "--k", "10,20"])).toMatchObject({ target: "recommendations", rate: undefined, k: [10, 20], newUserShare: 0.1 });
    expect(parseCommand(["--help"])).toBe("help");
    expect(parseCommand(["--target", "fraud", "--url", "http://x:1"])).toMatchObject({ timer: "precise", calibrateMs: 10_000, calibrationUrl: null, pin: null, targetPid: null });
  });

  it("reads the instrument's flags: calibration mode, timer, calibration, pinning", () => {
    expect(parseCommand(["--target", "null"])).toMatchObject({ target: "null", url: null, rate: 1000 });
    expect(parseCommand(["--target", "null", "--url", "http://127.0.0.1:9", "--rate", "5000"])).toMatchObject({ url: "http://127.0.0.1:9", rate: 5000 });
    expect(
      parseCommand(["--target", "fraud", "--url", "http://x:1", "--timer", "coarse", "--calibrate", "2.5", "--calibration-url", "http://y:2", "--pin", "0:1", "--target-pid", "4242"]),
    ).toMatchObject({ timer: "coarse", calibrateMs: 2500, calibrationUrl: "http://y:2", pin: "0:1", targetPid: 4242 });
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--timer", "exact"])).toThrow(/^--timer: must be precise or coarse/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--calibrate=-1"])).toThrow(/^--calibrate: must be >= 0 seconds/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--target-pid", "1.5"])).toThrow(/^--target-pid: must be a process id/);
  });

  it("names the flag that is wrong", () => {
    expect(() => parseCommand(["--url", "http://x:1"])).toThrow(/^--target: must be fraud, recommendations or null/);
    expect(() => parseCommand(["--target", "fraud"])).toThrow(/^--url: is required/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--rate", "fast"])).toThrow(/^--rate: must be a number, got "fast"/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--ramp", "100,,300"])).toThrow(/^--ramp\[1\]: must be a number/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--arrivals", "bursty"])).toThrow(/^--arrivals:/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--duration", "0"])).toThrow(/^--duration: 0 skips the main run, so --ramp is needed/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--settle=-1"])).toThrow(/^--settle: must be >= 0 seconds/);
    expect(() => parseCommand(["--target", "fraud", "--url", "http://x:1", "--bogus"])).toThrow(/bogus/);
  });
});

describe("runCommand", () => {
  it("exits 2 with the usage on bad input and 0 with it on --help", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    await expect(runCommand(["--target", "fraud"], io)).resolves.toBe(2);
    expect(err.join("")).toContain("--url: is required");
    expect(err.join("")).toContain(USAGE);
    await expect(runCommand(["--help"], io)).resolves.toBe(0);
    expect(out.join("")).toBe(USAGE);
  });

  it("exits 2 when a value is out of range deeper down, e.g. the URL or the budgets", async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t) };
    await expect(runCommand(["--target", "fraud", "--url", "ftp://x", "--duration", "1"], io)).resolves.toBe(2);
    expect(err.join("")).toContain('url: must be an http:// URL, got "ftp://x"');
    await expect(runCommand(["--target", "fraud", "--url", "http://127.0.0.1:1", "--budgets", "/nonexistent.json"], io)).resolves.toBe(2);
    expect(err.join("")).toContain("budgets: cannot read /nonexistent.json");
  });
});
