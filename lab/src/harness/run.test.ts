import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOGUE } from "../catalogue";
import { defineClaim } from "./experiment";
import { readResults, rerenderPages, writeClaim } from "./output";
import { runClaim } from "./run";
import { atLeast, atMost } from "./verdict";

const quiet = { log: () => {}, progressStream: { write: () => true } };

/** A claim whose per-seed numbers are given, so every outcome can be constructed. */
function fakeClaim(values: (seed: number) => { gain: number; cost: number }) {
  return defineClaim<{ scale: number }, { seed: number }>({
    id: "X99",
    aliases: ["98"],
    slug: "fake-claim",
    title: "A constructed claim",
    claim: "Constructed to test the harness.",
    question: "Does the harness work?",
    setup: "No world; numbers by seed.",
    sizes: { default: { scale: 1 }, quick: { scale: 1 } },
    seeds: { default: 3, quick: 2 },
    checks: [
      { id: "gain", metric: "gain", description: "gain of the thing", rule: atLeast(0.1) },
      { id: "cost", metric: "cost", description: "cost of the thing", rule: atMost(1) },
    ],
    run: (p, ctx) => ({ metrics: { ...values(ctx.seed) }, detail: { seed: ctx.seed * p.scale } }),
    report: ({ runs }) => ({
      tables: [{ title: "per seed", columns: ["seed", "gain"], rows: runs.map((r) => [String(r.seed), String(r.metrics.gain)]) }],
      figures: [{ name: "fig", title: "a figure", svg: "<svg></svg>" }],
      facts: { n: String(runs.length) },
    }),
    interview: {
      holds: ({ facts, checks }) => `HOLDS with ${facts.n} seeds, gain ${checks.gain?.interval.mean.toFixed(2)}`,
      "does not hold": ({ checks }) => `FAILS on ${Object.values(checks).filter((c) => c.verdict === "does not hold").map((c) => c.check.id).join(",")}`,
      inconclusive: () => "OPEN",
    },
  });
}

describe("runClaim", () => {
  it("repeats over seeds, judges each check against its declared rule and picks the template by verdict", async () => {
    const holds = await runClaim(fakeClaim((s) => ({ gain: 0.5 + s * 0.001, cost: 0.2 })), quiet);
    expect(holds.seeds).toEqual([1, 2, 3]);
    expect(holds.verdict).toBe("holds");
    expect(holds.interview).toBe("HOLDS with 3 seeds, gain 0.50");
    expect(holds.checks.map((c) => c.margin)).toEqual([expect.closeTo(0.402, 6), expect.closeTo(0.8, 6)]);

    const fails = await runClaim(fakeClaim(() => ({ gain: 0.5, cost: 3 })), quiet);
    expect(fails.verdict).toBe("does not hold");
    expect(fails.deciding.check.id).toBe("cost");
    expect(fails.interview).toBe("FAILS on cost");

    const open = await runClaim(fakeClaim((s) => ({ gain: s === 1 ? -1 : 1, cost: 0 })), quiet);
    expect(open.verdict).toBe("inconclusive");
    expect(open.interview).toBe("OPEN");
  });

  it("takes the quick size and the seed count asked for, and refuses a missing metric", async () => {
    const quick = await runClaim(fakeClaim(() => ({ gain: 1, cost: 0 })), { ...quiet, quick: true });
    expect(quick.seeds).toEqual([1, 2]);
    const more = await runClaim(fakeClaim(() => ({ gain: 1, cost: 0 })), { ...quiet, seeds: 5 });
    expect(more.seeds).toHaveLength(5);
    const broken = fakeClaim(() => ({ gain: 1 }) as { gain: number; cost: number });
    await expect(runClaim(broken, quiet)).rejects.toThrow(/did not report metric "cost"/);
  });
});

describe("writeClaim", () => {
  it("writes the page, the JSON and the figures, and rebuilds the index and catalogue from every result", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claims-"));
    try {
      const outcome = await runClaim(fakeClaim(() => ({ gain: 0.05, cost: 0.2 })), quiet);
      const written = writeClaim(outcome, dir);
      expect(fs.readdirSync(dir).sort()).toEqual(["README.md", "catalogue.md", "x99-fake-claim-fig.svg", "x99-fake-claim.json", "x99-fake-claim.md"]);
      const page = fs.readFileSync(written.page, "utf8");
      expect(page).toContain("# Claim X99, 98: A constructed claim");
      expect(page).toContain("**Verdict: does not hold.** The claim does not hold on this system");
      expect(page).toContain("gain of the thing: 0.050");
      expect(page).toContain("![a figure](x99-fake-claim-fig.svg)");
      expect(page).toContain("## What to say in an interview\n\nFAILS on gain");
      expect(page).toContain("npm run claim -- x99");
      const [result] = readResults(dir);
      expect(result).toMatchObject({ id: "X99", verdict: "does not hold", deciding: "gain", size: "default", seeds: [1, 2, 3] });
      const index = fs.readFileSync(path.join(dir, "README.md"), "utf8");
      expect(index).toContain("| [X99, 98](x99-fake-claim.md) | A constructed claim | **does not hold** (1 of 2 checks hold) |");
      expect(index).toContain("1 claims measured: 0 hold, 1 do not hold, 0 inconclusive.");
      const catalogue = fs.readFileSync(path.join(dir, "catalogue.md"), "utf8");
      for (const entry of CATALOGUE) expect(catalogue).toContain(`| ${entry.ids.join(", ")} |`);
      // Rendering again from the JSON alone gives the same page.
      expect(rerenderPages(dir, [fakeClaim(() => ({ gain: 0, cost: 0 }))])).toBe(1);
      expect(fs.readFileSync(written.page, "utf8")).toBe(page);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
