import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { budgetFor, BudgetsFileError, DEFAULT_BUDGETS_PATH, loadBudgets, loadBudgetsSync, parseBudgets } from "./index";

describe("budget file", () => {
  it("states the architecture's targets", async () => {
    const budgets = await loadBudgets(DEFAULT_BUDGETS_PATH);
    expect(budgets.endpoints.fraud).toMatchObject({ rate: 1000, latency: { p99: 5 }, stages: { features: { p99: 2 } } });
    expect(budgets.endpoints.recommendations).toMatchObject({ rate: 300, latency: { p99: 25 }, stages: { user: { p99: 2 } } });
  });

  it("names the field that is wrong", async () => {
    expect(() => parseBudgets({})).toThrow(/^endpoints: must be an object/);
    expect(() => parseBudgets({ endpoints: {} })).toThrow(/^endpoints: needs at least one endpoint/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1000, latency: { p99: "5" } } } })).toThrow(/^endpoints\.fraud\.latency\.p99: must be a positive number, got "5"/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1000, latency: { p98: 5 } } } })).toThrow(/^endpoints\.fraud\.latency\.p98: unknown percentile/);
    expect(() => parseBudgets({ endpoints: { fraud: { latency: { p99: 5 } } } })).toThrow(/^endpoints\.fraud\.rate:/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1, latency: { p99: 5 }, stages: { features: {} } } } })).toThrow(/^endpoints\.fraud\.stages\.features: needs at least one percentile/);
    expect(() => parseBudgets({ endpoints: { fraud: { rate: 1, latency: { p99: 5 }, maxErrorRate: 2 } } })).toThrow(/^endpoints\.fraud\.maxErrorRate: must be a share/);
    const dir = await mkdtemp(path.join(os.tmpdir(), "budgets-"));
    await writeFile(path.join(dir, "broken.json"), "{ endpoints:");
    await expect(loadBudgets(path.join(dir, "broken.json"))).rejects.toThrow(/^budgets: .*broken\.json is not JSON/);
    await expect(loadBudgets(path.join(dir, "missing.json"))).rejects.toThrow(/^budgets: cannot read/);
  });
});

describe("reading the project's budgets", () => {
  it("gives the same budgets synchronously and asynchronously, from the default path", async () => {
    expect(loadBudgetsSync()).toEqual(await loadBudgets());
    expect(loadBudgetsSync(DEFAULT_BUDGETS_PATH).endpoints.fraud?.stages.features?.p99).toBe(2);
  });

  it("finds an endpoint's budget, or lists the endpoints it has", async () => {
    const budgets = await loadBudgets();
    expect(budgetFor(budgets, "fraud").rate).toBe(1000);
    expect(() => budgetFor(budgets, "search")).toThrow(BudgetsFileError);
    expect(() => budgetFor(budgets, "search")).toThrow(/no budget for "search" \(budgets cover: fraud, recommendations\)/);
  });
});
