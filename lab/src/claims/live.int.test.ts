import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeClaim } from "../harness/output";
import { runClaim, type ClaimOutcome } from "../harness/run";
import { VERDICTS } from "../harness/verdict";
import { CLAIMS } from "./index";

// The lab's claims about the running system, at quick size, on real Redis and Kafka from the
// testkit and the services as their own processes (each run starts and stops its own stack).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "claims-live-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
// The claim's log is kept, not printed, and goes with a failure's message: what each run did.
const lines: string[] = [];
const quiet = { quick: true, log: (line: string) => void lines.push(line), progressStream: { write: () => true } };

type Detail27 = { widths: { n: number; callSlow: number; fanSlow: number; errors: number }[] };
type Detail22 = { reads: Record<"perKey" | "pipelined" | "cached", { p50: number }>; live: Record<"pipelined" | "cached", Record<string, { p50: number }>> };
type Rollout = { status: string; breached: string[]; exposedRequests: number; exposedUsers: number; visits: number };
type Detail39 = { phases: { name: string; requests: number; answeredBy: Record<string, number> }[] };

// What must hold at any size: properties of the system and the measurement, not of the verdict.
const invariants: Record<string, (o: ClaimOutcome) => void> = {
  "27": (o) => {
    for (const r of o.runs) {
      const d = r.detail as Detail27;
      // The proxy held some calls back, and a request is slow whenever one of its calls is.
      const wide = d.widths.find((w) => w.n > 1);
      expect(wide?.callSlow).toBeGreaterThan(0);
      expect(wide?.fanSlow).toBeGreaterThanOrEqual(wide?.callSlow ?? 1);
      for (const w of d.widths) expect(w.errors).toBe(0);
    }
  },
  "22": (o) => {
    for (const r of o.runs) {
      const d = r.detail as Detail22;
      // One round trip per candidate costs more than one for all of them.
      expect(d.reads.perKey.p50).toBeGreaterThan(d.reads.pipelined.p50);
      // The live answers carried the ranker's feature stage with the cache off and on.
      expect(d.live.pipelined["ranker.features"]?.p50).toBeGreaterThan(0);
      expect(d.live.cached["ranker.features"]?.p50).toBeGreaterThan(0);
    }
  },
  "38": (o) => {
    for (const r of o.runs) {
      const run = (r.detail as { run: Rollout }).run;
      // The controller decided (a reversed ranker cannot be promoted), and what it counts as exposure happened.
      expect(["rolled-back", "held"]).toContain(run.status);
      expect(run.exposedRequests).toBeGreaterThan(0);
      expect(run.exposedRequests).toBeLessThanOrEqual(run.visits);
    }
  },
  X5: (o) => {
    for (const r of o.runs) {
      const d = r.detail as { worse: Rollout; same: Rollout };
      expect(d.worse.status).not.toBe("promoted");
      expect(["rolled-back", "held"]).toContain(d.same.status);
      expect(d.same.exposedUsers).toBeGreaterThan(0);
    }
  },
  "31": (o) => {
    for (const r of o.runs) {
      const d = r.detail as Record<"shadow" | "canary" | "ab", Rollout>;
      // Shadow answers are discarded: the candidate answered nobody; canary and A/B answered someone.
      expect(d.shadow.exposedRequests).toBe(0);
      expect(d.canary.exposedUsers).toBeGreaterThan(0);
      expect(d.ab.exposedUsers).toBeGreaterThan(0);
      // Each ended before the next started (a canary's share of users may not reach the budget, so the lab may have had to stop it).
      for (const run of Object.values(d)) expect(["rolled-back", "held", "aborted"]).toContain(run.status);
    }
  },
  "23": (o) => {
    for (const r of o.runs) {
      const [none, cached] = (r.detail as { ttls: { ttlMs: number; hitRate: number; requests: number }[] }).ttls;
      // No cache, no hits; with one, users asking again within the TTL are answered from it.
      expect(none?.hitRate).toBe(0);
      expect(cached?.hitRate).toBeGreaterThan(0.3);
      for (const t of [none, cached]) expect(t?.requests).toBeGreaterThan(20);
    }
  },
  "39": (o) => {
    for (const r of o.runs) {
      const phases = (r.detail as Detail39).phases;
      const by = (name: string) => phases.find((p) => p.name === name)?.answeredBy ?? {};
      // Each outage was answered by its own fallback: the one the recommender documents.
      expect(by("retrieval down")["model"] ?? 0).toBe(0);
      expect(by("ranker down")["retrieval-order"] ?? 0).toBeGreaterThan(0.5);
      expect(by("redis down")["popularity"] ?? 0).toBeGreaterThan(0.9);
      expect(by("healthy")["model"] ?? 0).toBeGreaterThan(0.5);
      for (const p of phases) expect(p.requests).toBeGreaterThan(0);
    }
  },
};

describe.each(CLAIMS.filter((c) => c.live).map((c) => [c.id, c] as const))("live claim %s at quick size", (id, claim) => {
  it("runs on the live stack, judges every check and writes a page", async () => {
    lines.length = 0;
    const outcome = await runClaim(claim, quiet).catch((error: Error) => {
      throw new Error(`${error.message}\nthe claim's log:\n${lines.join("\n")}`, { cause: error });
    });
    expect(outcome.runs).toHaveLength(claim.seeds.quick);
    expect(VERDICTS).toContain(outcome.verdict);
    for (const c of outcome.checks) expect(c.values.every(Number.isFinite)).toBe(true);
    expect(outcome.report.tables.length).toBeGreaterThan(0);
    for (const t of outcome.report.tables) expect(t.rows.length).toBeGreaterThan(0);
    for (const f of outcome.report.figures) expect(f.svg.startsWith("<svg")).toBe(true);
    expect(outcome.interview).not.toMatch(/undefined|NaN/);
    const page = fs.readFileSync(writeClaim(outcome, dir).page, "utf8");
    expect(page).toContain(`**Verdict: ${outcome.verdict}.**`);
    const check = invariants[id];
    expect(check, `an invariant for live claim ${id}`).toBeDefined();
    try {
      check?.(outcome);
    } catch (error) {
      (error as Error).message += `\nthe claim's log:\n${lines.join("\n")}`;
      throw error;
    }
  }, 150_000);
});
