import fs from "node:fs";
import path from "node:path";
import { FRAUD_WORLD_PRESETS } from "@mlsd/synth";
import { CUSTOMER_RATIO_FEATURES } from "@mlsd/feature-store";
import { describe, expect, it } from "vitest";
import { FRAUD_USAGE, planFraudCli, REPO_ROOT, resolveUserPath, runFraudCli, UsageError, type FraudCliPlan } from "./fraud-cli";

const HERE = "/home/user/project/docs";

function plan(...argv: string[]): FraudCliPlan {
  const p = planFraudCli(argv, HERE);
  if (p === "help") throw new Error("unexpected help");
  return p;
}

describe("fraud CLI: windows of the handbook protocol", () => {
  it.each([
    [["--train-start", "2018-07-20"], { trainStart: "2018-07-20" }],
    [["--train-days", "14"], { trainDays: 14 }],
    [["--delay-days", "0"], { delayDays: 0 }],
    [["--test-start", "2018-08-15"], { testStart: "2018-08-15" }],
    [["--test-start", "120"], { testStart: "120" }],
    [["--test-days", "3"], { testDays: 3 }],
    [["--test-folds", "4"], { testFolds: 4 }],
    [["--folds", "2"], { folds: 2 }],
    [["--valid-days", "5"], { validDays: 5 }],
    [["--known-compromised", "keep"], { knownCompromised: "keep" }],
  ])("%j sets the protocol", (argv, expected) => {
    expect(plan(...argv).options.protocol).toEqual(expected);
  });

  it("leaves the protocol to its defaults without flags", () => {
    expect(plan().options.protocol).toEqual({});
  });

  it("passes the label delay to the synthetic world or to the CSV reader", () => {
    const world = plan("--label-delay-days", "3");
    expect(world.source).toEqual({ kind: "synthetic", world: { ...FRAUD_WORLD_PRESETS.handbook, labelDelay: { minDays: 3, maxDays: 3 } } });
    expect(plan("--csv", "tx.csv", "--label-delay-days", "2.5").source).toEqual({ kind: "csv", file: path.join(HERE, "tx.csv"), labelDelayDays: 2.5 });
  });

  it("takes world seeds, grid axes and the selection metric", () => {
    const p = plan("--preset", "small", "--seeds", "0,1,2", "--depths", "3,6", "--rounds", "50", "--fraud-weights", "1,sqrt-balance", "--learning-rates", "0.2", "--select-by", "cp100");
    expect(p.source).toEqual({ kind: "synthetic", world: { ...FRAUD_WORLD_PRESETS.small }, seeds: [0, 1, 2] });
    expect(FRAUD_WORLD_PRESETS.small).toMatchObject({ customers: 1000, terminals: 2000, days: 60 });
    expect(p.options.grid).toEqual({ maxDepth: [3, 6], numRounds: [50], positiveWeight: [1, "sqrt-balance"], learningRate: [0.2] });
    expect(p.options.selectBy).toBe("cp100");
    expect(p.options.labelEdges).toBeUndefined();
    expect(plan("--label-edges", "0").options.labelEdges).toBe(0);
    expect(plan("--label-edges", "253").options.labelEdges).toBe(253);
    expect(p.options.ratioFeatures).toBeUndefined();
    expect(plan("--ratio-features", "none").options.ratioFeatures).toEqual([]);
    expect(plan("--ratio-features", "customer").options.ratioFeatures).toEqual([...CUSTOMER_RATIO_FEATURES]);
  });

  it("moves the world's day 0 with --start-date (npm run world aligns the history's end)", () => {
    expect(plan("--preset", "demo", "--start-date", "2024-01-15").source).toEqual({ kind: "synthetic", world: { ...FRAUD_WORLD_PRESETS.demo, startDate: "2024-01-15" } });
  });

  it.each([
    [["--train-days", "0"], /--train-days must be an integer >= 1, got "0"/],
    [["--delay-days=-1"], /--delay-days must be an integer >= 0/],
    [["--test-folds", "x"], /--test-folds must be an integer/],
    [["--known-compromised", "maybe"], /--known-compromised must be drop or keep/],
    [["--select-by", "f1"], /--select-by must be ap or auc or cp100/],
    [["--seeds", "0,,2"], /--seeds must be a comma-separated list/],
    [["--seed", "1", "--seeds", "1,2"], /--seed or --seeds/],
    [["--csv", "a.csv", "--preset", "small"], /--preset describes a synthetic world/],
    [["--csv", "a.csv", "--start-date", "2024-01-15"], /--start-date describes a synthetic world/],
    [["--start-date", "15.01.2024"], /--start-date must be a date YYYY-MM-DD/],
    [["--preset", "huge"], /--preset must be handbook or small or demo/],
    [["--export-format", "ndjson"], /--export-format needs --export/],
    [["--fraud-weights", "0"], /--fraud-weights must list numbers > 0/],
    [["--label-edges", "254"], /--label-edges must be an integer in 0-253, got "254"/],
    [["--label-edges", "1.5"], /--label-edges must be an integer >= 0/],
    [["--label-delay-days=-2"], /--label-delay-days must be a number >= 0/],
    [["--ratio-features", "all"], /--ratio-features must be customer or none, got "all"/],
    [["--no-such-flag"], /Unknown option '--no-such-flag'/],
  ])("refuses %j", (argv, message) => {
    expect(() => planFraudCli(argv, HERE)).toThrow(UsageError);
    expect(() => planFraudCli(argv, HERE)).toThrow(message);
  });

  it("documents every window flag and its default in --help", async () => {
    for (const flag of ["--train-start", "--train-days", "--delay-days", "--test-start", "--test-days", "--test-folds", "--label-delay-days", "--known-compromised", "--folds", "--valid-days", "--export"]) {
      expect(FRAUD_USAGE).toContain(flag);
    }
    expect(FRAUD_USAGE).toMatch(/--train-days N\s+training window length \(default 7\)/);
    expect(FRAUD_USAGE).toMatch(/--test-start DATE\s+first day of the test window \(default 2018-08-08/);
    let printed = "";
    expect(await runFraudCli(["--help"], HERE, (t) => (printed += t), () => {})).toBe(0);
    expect(printed).toContain("--delay-days N");
    let error = "";
    expect(await runFraudCli(["--folds", "0"], HERE, () => {}, (t) => (error += t))).toBe(2);
    expect(error).toMatch(/^--folds must be an integer >= 1/);
  });
});

describe("fraud CLI: paths", () => {
  it("resolves relative paths from where the command was typed and keeps absolute ones", () => {
    expect(resolveUserPath("data/tx.csv", HERE)).toBe("/home/user/project/docs/data/tx.csv");
    expect(resolveUserPath("../tx.csv", HERE)).toBe("/home/user/project/tx.csv");
    expect(resolveUserPath("/data/tx.csv", HERE)).toBe("/data/tx.csv");
    const p = plan("--csv", "../x.csv", "--registry", "reg", "--reports", "/abs/rep", "--export", "out");
    expect(p.source).toEqual({ kind: "csv", file: "/home/user/project/x.csv" });
    expect(p.options.registryDir).toBe("/home/user/project/docs/reg");
    expect(p.options.reportDir).toBe("/abs/rep");
    expect(p.options.export).toEqual({ dir: "/home/user/project/docs/out", format: "csv" });
  });

  it("puts the registry and the report in the repository by default, wherever the command was typed", () => {
    const p = plan();
    expect(p.options.registryDir).toBe(path.join(REPO_ROOT, "artifacts", "registry"));
    expect(p.options.reportDir).toBe(path.join(REPO_ROOT, "reports"));
    expect(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).name).toBe("mlsd-lab");
  });

  it("writes the command into the plan for the report", () => {
    expect(plan("--preset", "small").options.command).toBe("npm run train:fraud -- --preset small");
  });
});
