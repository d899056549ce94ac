import { Rng } from "@mlsd/random";
import { describe, expect, it } from "vitest";
import { publishCandidateRanker, readRollout, runRollout, withRolloutStack, type RolloutClaimParams } from "./rollout";

// runRollout on the live stack: a rollout still undecided when the visits run out is stopped, so
// the next one on the same stack can start (a claim runs several in a row).
const params: RolloutClaimParams = {
  world: { numUsers: 120, numItems: 400, sessionsPerUser: 8 },
  workers: 2,
  before: 0,
  maxVisits: 30,
  k: 10,
  canaryShare: 0.5,
  abShare: 0.5,
  minSamples: 20,
  maxSamples: 1_000,
  onBudget: "hold",
};

describe("runRollout on the live stack", () => {
  it("aborts a rollout the controller has not decided once the visits run out, and the next one starts", async () => {
    const lines: string[] = [];
    const log = (line: string) => void lines.push(line);
    await withRolloutStack(7, params, log, async (stack, client, users) => {
      // An exact copy of the model in service: 30 visits cannot tell them apart, and 1,000 users a side is far off.
      await publishCandidateRanker(stack.registryDir, "copy");
      const rng = new Rng(7);
      const options = { stages: ["canary"] as const, users, k: params.k, workers: params.workers, before: 0, maxVisits: params.maxVisits, settleMs: 1_500, rng, log };
      const t0 = performance.now();
      const first = await runRollout(client, stack, options);
      const elapsed = (performance.now() - t0) / 1000;
      expect(first.status, lines.join("\n")).toBe("aborted");
      expect(first.visits).toBe(params.maxVisits);
      expect(first.action).toBe("aborted");
      // Its time ends with the visits, not with the 1.5 s wait for a decision after them.
      expect(first.seconds).toBeGreaterThan(0);
      expect(first.seconds).toBeLessThanOrEqual(elapsed - 1.5);
      expect(lines.some((l) => l.includes("no decision 2 s after the last of 30 visits; the lab aborts the rollout"))).toBe(true);
      // The controller agrees, and a second rollout is accepted rather than refused with 409.
      expect((await readRollout(stack)).status).toBe("aborted");
      const second = await runRollout(client, stack, options);
      expect(second.status, lines.join("\n")).toBe("aborted");
    });
  }, 120_000);
});
