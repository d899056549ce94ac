import { lineChart } from "@mlsd/plot";
import type { Figure, SeedRun } from "../harness/experiment";
import { meanInterval } from "../harness/stats";
import { cell, type Table } from "../harness/table";
import { policyName, type LoopResult, type RoundStats } from "./loop";

/** What a closed-loop claim keeps per seed: one loop per policy, same seed. */
export interface LoopDetail {
  loops: LoopResult[];
}

type Measure = keyof Pick<RoundStats, "exposureGini" | "coverage" | "clicksPerSession" | "servedNdcg" | "categoriesPerSlate">;

/** Round-by-round means over seeds of one measure for the policy at `index`. */
function curve(runs: readonly SeedRun<LoopDetail>[], index: number, measure: Measure): [number, number][] {
  const rounds = (runs[0]?.detail.loops[index]?.rounds ?? []).map((r) => r.round);
  return rounds
    .map((round) => [round, meanInterval(runs.map((r) => (r.detail.loops[index] as LoopResult).rounds[round]?.[measure] as number)).mean] as [number, number])
    .filter(([, y]) => Number.isFinite(y));
}

/** The table of every round (mean ± CI over seeds) for each policy. */
export function roundsTable(runs: readonly SeedRun<LoopDetail>[], title: string): Table {
  const first = runs[0]?.detail.loops ?? [];
  const rows: string[][] = [];
  first.forEach((loop, index) => {
    for (const round of loop.rounds) {
      const at = (f: (s: RoundStats) => number) => runs.map((r) => f((r.detail.loops[index] as LoopResult).rounds[round.round] as RoundStats));
      rows.push([
        round.round === 0 ? "popularity logging (bootstrap)" : policyName(loop.policy),
        round.round === 0 ? `0 (days ${round.fromDay}-${round.toDay})` : `${round.round} (days ${round.fromDay}-${round.toDay})`,
        cell(at((s) => s.exposureGini), 3),
        cell(at((s) => 100 * s.coverage), 1),
        cell(at((s) => s.clicksPerSession), 3),
        round.round === 0 ? "n/a" : cell(at((s) => s.servedNdcg), 3),
        cell(at((s) => s.categoriesPerSlate), 2),
      ]);
    }
  });
  return {
    title,
    columns: ["served by", "round", "exposure Gini", "coverage %", "clicks per session", "served NDCG vs true relevance", "categories per slate"],
    rows,
    note: "Mean ± half-width of the 95 % interval over seeds. Gini of impressions over every item released by the round's end; coverage is the share of those shown at least once in the round; served NDCG is the slate's DCG by true relevance over the best DCG any system could have served that user (computed by the world's users as in the live demo). Round 0 is the last two days of the popularity-policy log the first ranker trains on (the popularity policy shows 10 % random items).",
  };
}

export function loopFigures(runs: readonly SeedRun<LoopDetail>[], prefix: string): Figure[] {
  const loops = runs[0]?.detail.loops ?? [];
  const series = (measure: Measure, scale = 1) => loops.map((loop, index) => ({ name: policyName(loop.policy), points: curve(runs, index, measure).map(([x, y]) => [x, y * scale] as [number, number]) }));
  return [
    {
      name: "exposure",
      title: "Exposure over the loop's rounds",
      svg: lineChart({ title: `${prefix}: catalogue coverage per round`, xLabel: "round (0 = popularity-logged bootstrap)", yLabel: "share of released items shown (%)", series: series("coverage", 100) }),
    },
    {
      name: "engagement",
      title: "Engagement over the loop's rounds",
      svg: lineChart({ title: `${prefix}: clicks per session per round`, xLabel: "round (0 = popularity-logged bootstrap)", yLabel: "clicks per session (mean over seeds)", series: series("clicksPerSession") }),
    },
  ];
}

/** Mean of a measure over the rounds in [from, to] of one loop. */
export function roundsMean(loop: LoopResult, measure: Measure, from: number, to: number): number {
  const xs = loop.rounds.filter((r) => r.round >= from && r.round <= to).map((r) => r[measure]);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function lastRound(loop: LoopResult): RoundStats {
  return loop.rounds[loop.rounds.length - 1] as RoundStats;
}
