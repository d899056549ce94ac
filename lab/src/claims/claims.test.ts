import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CATALOGUE } from "../catalogue";
import { meanInterval } from "../harness/stats";
import { writeClaim } from "../harness/output";
import { runClaim, type ClaimOutcome } from "../harness/run";
import { judge, VERDICTS, type Rule } from "../harness/verdict";
import type { MovieLensAnn } from "../recs/movielens-ann";
import type { MovieLensObjectives } from "../recs/movielens-objectives";
import { CLAIMS, findClaim } from "./index";

/** The part-2 claims measured on the live services (Redis, Kafka, the services as processes). */
const LIVE_PART2_IDS = ["22", "23", "27", "31", "38", "39", "X5"];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claims-quick-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const quiet = { quick: true, log: () => {}, progressStream: { write: () => true } };

/** Per-seed values on the claim's side of a rule, on the other side, and straddling it. */
function constructed(rule: Rule): Record<"holds" | "does not hold" | "inconclusive", number[]> {
  const t = rule.kind === "within" ? rule.hi : rule.threshold;
  const d = Math.max(1e-3, Math.abs(t) * 0.5);
  const good = rule.kind === "at-least" ? t + d : rule.kind === "at-most" ? t - d : (rule.lo + rule.hi) / 2;
  const bad = rule.kind === "at-least" ? t - d : t + d;
  return { holds: [good, good * 1.0001 + 1e-6, good], "does not hold": [bad, bad * 1.0001 + 1e-6, bad], inconclusive: [good, bad, good] };
}

describe("the lab's claims", () => {
  it("cover the catalogue's part-1 claims, one experiment each, found by any of their ids", () => {
    const part1 = CATALOGUE.filter((e) => e.part === 1);
    for (const entry of part1) for (const id of entry.ids) expect(findClaim(id)?.id, `claim ${id}`).toBe(entry.ids[0]);
    // Each experiment is one catalogue entry, found by its first id; part 2 is being added claim by claim.
    expect(new Set(CLAIMS.map((c) => c.id)).size).toBe(CLAIMS.length);
    for (const c of CLAIMS) expect(CATALOGUE.find((e) => e.ids[0] === c.id)?.part, `claim ${c.id}`).not.toBe("open");
    expect(CLAIMS.filter((c) => CATALOGUE.find((e) => e.ids[0] === c.id)?.part === 1)).toHaveLength(part1.length);
    expect(findClaim("x2")?.id).toBe("X2");
    expect(findClaim("nope")).toBeUndefined();
  });

  it("cover part 2's retrieval claims (18/43/49, 19, 20/41/52, 24, 26, X3), found by any of their ids", () => {
    const retrieval = CATALOGUE.filter((e) => e.part === 2 && ["18", "19", "20", "24", "26", "X3"].includes(e.ids[0] as string));
    expect(retrieval).toHaveLength(6);
    for (const entry of retrieval) for (const id of entry.ids) expect(findClaim(id)?.id, `claim ${id}`).toBe(entry.ids[0]);
  });

  it("cover the part-2 ranking and closed-loop claims (9, X1, 33, X4, 21/36)", () => {
    for (const id of ["9", "X1", "33", "X4", "21", "36"]) {
      const entry = CATALOGUE.find((e) => e.ids.includes(id));
      expect(entry?.part, `claim ${id}`).toBe(2);
      expect(findClaim(id)?.id, `claim ${id}`).toBe(entry?.ids[0]);
    }
  });

  it("cover the part-2 claims on the running system, each marked live (run by live.int.test.ts, not here)", () => {
    for (const id of LIVE_PART2_IDS) {
      const entry = CATALOGUE.find((e) => e.ids.includes(id));
      expect(entry?.part, `catalogue entry of ${id}`).toBe(2);
      for (const alias of entry?.ids ?? []) expect(findClaim(alias)?.id, `claim ${alias}`).toBe(id);
      expect(findClaim(id)?.live, `claim ${id} is live`).toBe(true);
    }
  });

  it("cover every part-2 claim of the catalogue, found by any of its ids", () => {
    const part2 = CATALOGUE.filter((e) => e.part === 2);
    expect(part2.length).toBeGreaterThanOrEqual(18);
    for (const entry of part2) for (const id of entry.ids) expect(findClaim(id)?.id, `claim ${id}`).toBe(entry.ids[0]);
  });

  it("give every claim a catalogue entry", () => {
    for (const c of CLAIMS) expect(CATALOGUE.find((e) => e.ids[0] === c.id), `claim ${c.id}`).toBeDefined();
  });

  it.each(CLAIMS.flatMap((c) => c.checks.map((check) => [c.id, check.id, check.rule] as const)))("claim %s, check %s: its declared rule gives each verdict on constructed values", (_id, _check, rule) => {
    const values = constructed(rule);
    for (const verdict of VERDICTS) expect(judge(rule, meanInterval(values[verdict])).verdict).toBe(verdict);
  });
});

/** Both loops of a seed start from the same bootstrap log, and every session was served a full slate. */
function loopInvariants(o: ClaimOutcome): void {
  const size = o.params as { slateSize: number; rounds: number };
  for (const r of o.runs) {
    const loops = (r.detail as { loops: { rounds: { round: number; sessions: number; impressions: number }[] }[] }).loops;
    expect(loops).toHaveLength(2);
    expect(loops[1]?.rounds[0]).toEqual(loops[0]?.rounds[0]);
    for (const loop of loops) {
      expect(loop.rounds.map((x) => x.round)).toEqual(Array.from({ length: size.rounds + 1 }, (_, i) => i));
      for (const round of loop.rounds) expect(round.impressions).toBe(round.sessions * size.slateSize);
    }
  }
}

// The same invariants must hold at any size: they are properties of the code, not of the data.
const invariants: Record<string, (o: ClaimOutcome) => void> = {
  "10": (o) => {
    for (const r of o.runs) expect((r.detail as { leakyOffline: { auc: number }; leakyServed: { auc: number } }).leakyOffline.auc).toBeGreaterThan((r.detail as { leakyServed: { auc: number } }).leakyServed.auc);
  },
  "14": (o) => {
    // The feature store's online path and offline replay agree exactly.
    for (const r of o.runs) expect(r.metrics.sharedSkew).toBe(0);
  },
  "37": (o) => {
    for (const r of o.runs) expect(r.metrics.burstGain).toBeGreaterThan(0);
  },
  "26": (o) => {
    // The judged setting is chosen on validation users and must have reached the target there.
    for (const r of o.runs) for (const c of (r.detail as { chosen: { point: { validRecall: number; speedup: number } | null }[] }).chosen) if (c.point) expect(c.point.validRecall).toBeGreaterThanOrEqual(0.95);
    // The real-data arm: the trainer's split, the trainer's lift rule on validation users, k capped at the catalogue.
    for (const r of o.runs) {
      const ml = (r.detail as { movielens: MovieLensAnn }).movielens;
      expect(ml.splitSeed).toBe(41 + r.seed);
      expect(ml.dim).toBe(8);
      expect(ml.ks).toEqual([10, ml.items]);
      expect(ml.liftTried.map((t) => t.liftFraction)).toEqual([0, 0.25, 0.5]);
      const bestRecall = Math.max(...ml.liftTried.map((t) => t.recall));
      expect(ml.liftTried.find((t) => t.recall === bestRecall)?.liftFraction).toBe(ml.liftFraction);
      expect(ml.points.map((p) => `${p.k}/${p.ef}`)).toEqual([`10/10`, `10/50`, `${ml.items}/10`, `${ml.items}/50`]);
      for (const p of ml.points) {
        expect(p.testRecall).toBeGreaterThan(0);
        expect(p.testRecall).toBeLessThanOrEqual(1);
        expect(p.speedup).toBeCloseTo((ml.exactMicros[String(p.k)] as number) / p.micros, 9);
      }
      expect(r.metrics.movielensServedRecallK100).toBe(ml.served.at(-1)?.testRecall);
      expect(r.metrics.movielensServedSpeedupK100).toBe(ml.served.at(-1)?.speedup);
    }
  },
  "9": (o) => {
    // The real-data arm: the trainer's split, one fit per loss on the same rows, gains as differences of the printed NDCGs.
    for (const r of o.runs) {
      const ml = (r.detail as { movielens: MovieLensObjectives }).movielens;
      expect(ml.splitSeed).toBe(41 + r.seed);
      expect(ml.fits.map((f) => f.objective)).toEqual(["pointwise", "pairwise", "lambdarank"]);
      expect(ml.trainRows).toBeGreaterThan(0);
      for (const f of ml.fits) {
        expect(f.ndcg).toBeGreaterThan(0);
        expect(f.ndcg).toBeLessThanOrEqual(1);
        expect(f.trees).toBeGreaterThanOrEqual(1);
      }
      const ndcg = (i: number) => ml.fits[i]?.ndcg ?? Number.NaN;
      expect(r.metrics.movielensPairwiseGain).toBeCloseTo(ndcg(1) - ndcg(0), 12);
      expect(r.metrics.movielensListwiseGain).toBeCloseTo(ndcg(2) - ndcg(1), 12);
    }
  },
  "24": (o) => {
    for (const r of o.runs) {
      expect(r.metrics.memoryRatio).toBeGreaterThan(3.5);
      // Exact rescoring of a superset of the int8 top-k keeps every true top-k item the int8 list had.
      for (const k of (r.detail as { perK: { int8Recall: number; rescoredRecall: number }[] }).perK) expect(k.rescoredRecall).toBeGreaterThanOrEqual(k.int8Recall);
    }
  },
  "18": (o) => {
    for (const r of o.runs) {
      const detail = r.detail as { arms: { candidateRecall: number; ranked: number }[]; movielens: { items: number; splitSeed: number; arms: { name: string; ranked: number; ndcg: number; cpuMicros: number }[] } };
      const arms = detail.arms;
      expect(arms[0]?.candidateRecall).toBe(1);
      for (const a of arms.slice(1)) expect(a.candidateRecall).toBeLessThanOrEqual(1);
      // The real-data arm: retrieval alone, the pipeline's top-N then rank, every unseen movie; the split the trainer README uses.
      const ml = detail.movielens;
      expect(ml.splitSeed).toBe(41 + r.seed);
      expect(ml.arms.map((a) => a.name)).toEqual(["HNSW retrieval alone (no ranker)", "HNSW top 20 then rank", "rank every unseen movie"]);
      expect(ml.arms[1]?.ranked).toBe(20);
      expect(ml.arms[2]?.ranked).toBeGreaterThan(20);
      expect(ml.arms[2]?.ranked).toBeLessThan(ml.items);
      for (const a of ml.arms) {
        expect(a.ndcg).toBeGreaterThan(0);
        expect(a.ndcg).toBeLessThanOrEqual(1);
      }
      // Building candidate rows and walking the trees costs measurable CPU.
      for (const a of ml.arms.slice(1)) expect(a.cpuMicros).toBeGreaterThan(0);
      expect(r.metrics.movielensCpuRatio).toBeCloseTo((ml.arms[2]?.cpuMicros ?? 0) / (ml.arms[1]?.cpuMicros ?? 1), 9);
      expect(r.metrics.movielensNdcgLoss).toBeCloseTo((ml.arms[2]?.ndcg ?? 0) - (ml.arms[1]?.ndcg ?? 0), 12);
    }
  },
  "20": (o) => {
    for (const r of o.runs) {
      const explore = (r.detail as { results: { strategy: string; newShare: number }[] }).results.find((x) => x.strategy.includes("slots to random new items"));
      expect(explore?.newShare).toBeGreaterThanOrEqual(0.2);
    }
  },
  X1: (o) => {
    for (const r of o.runs) {
      const d = r.detail as { aboveShare: { biased: number; unbiased: number } };
      for (const share of [d.aboveShare.biased, d.aboveShare.unbiased]) {
        expect(share).toBeGreaterThanOrEqual(0);
        expect(share).toBeLessThanOrEqual(1);
      }
    }
  },
  "33": (o) => loopInvariants(o),
  X4: (o) => loopInvariants(o),
  "12": (o) => {
    for (const r of o.runs) {
      const d = r.detail as { natural: number; sweep: { prevalence: number; ap: number }[]; models: { ap: number }[] };
      expect(d.sweep.find((s) => s.prevalence === d.natural)?.ap).toBe(d.models[0]?.ap);
    }
  },
};

// Live claims start Redis, Kafka and the services: they run in live.int.test.ts under the testkit.
describe.each(CLAIMS.filter((c) => !c.live).map((c) => [c.id, c] as const))("claim %s at quick size", (id, claim) => {
  it("runs every seed, judges every check and writes a page with tables and figures", async () => {
    const outcome = await runClaim(claim, quiet);
    expect(outcome.runs).toHaveLength(claim.seeds.quick);
    expect(VERDICTS).toContain(outcome.verdict);
    for (const c of outcome.checks) expect(c.values).toHaveLength(claim.seeds.quick);
    expect(outcome.report.tables.length).toBeGreaterThan(0);
    for (const t of outcome.report.tables) expect(t.rows.length).toBeGreaterThan(0);
    for (const f of outcome.report.figures) expect(f.svg.startsWith("<svg")).toBe(true);
    expect(outcome.interview.length).toBeGreaterThan(40);
    expect(outcome.interview).not.toMatch(/undefined|NaN/);
    const written = writeClaim(outcome, dir);
    const page = fs.readFileSync(written.page, "utf8");
    expect(page).toContain(`**Verdict: ${outcome.verdict}.**`);
    expect(page).toContain("## What to say in an interview");
    invariants[id]?.(outcome);
  }, 240_000);
});
