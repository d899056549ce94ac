import { lineChart } from "@mlsd/plot";
import { defineClaim } from "../harness/experiment";
import { openParts, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, fmtInterval } from "../harness/table";
import { atLeast, atMost } from "../harness/verdict";
import { LOOP_SIZES, type LoopSize, type LoopWorldSize } from "../recs-loop/loop";
import { runFreshness, type FreshnessBucket, type FreshnessRun, type FreshnessSize, type ServingMode } from "../recs-loop/freshness";

type Params = FreshnessSize;

/** The loop claims' world and serving, without their rounds. */
const worldPart = ({ roundDays: _d, rounds: _r, ...rest }: LoopSize): LoopWorldSize => rest;

interface Detail {
  runs: Record<ServingMode, FreshnessRun>;
}

const MODES: Record<ServingMode, string> = { online: "online scoring per request", batch: "precomputed lists" };

/** Mean served NDCG over the buckets in [from, to) hours since the shift, for shifted users, the others, or everyone. */
function ndcgIn(run: FreshnessRun, from: number, to: number, who: "shifted" | "others" | "all"): number {
  let sum = 0;
  let n = 0;
  for (const b of run.buckets) {
    if (b.hour < from || b.hour >= to) continue;
    const parts: FreshnessBucket["shifted"][] = who === "all" ? [b.shifted, b.others] : [b[who]];
    for (const p of parts) {
      sum += p.sum;
      n += p.n;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

export default defineClaim<Params, Detail>({
  id: "21",
  aliases: ["36"],
  slug: "precompute-vs-online",
  title: "Precompute when inputs are few and stable; compute online when freshness matters",
  claim:
    "Precomputed recommendation lists are nearly free to serve and lose nothing while users and items are stable; when preferences change, a list computed hours ago is stale, and scoring online on fresh features recovers the quality at the price of latency.",
  question: "Would you precompute recommendations in a batch job or score them online? (grill Q21, Q36)",
  setup: [
    "One synthetic recs world per seed with the system's pieces (as in claim 33): the live world's `RecsUsers`, the trainer's LambdaRank trained once on the popularity-logged bootstrap days, retrieval candidates from the trainer's stand-in score, ranker features from the feature store's definitions updated after every session.",
    "",
    "- **precomputed lists**: a batch job scores every user's candidates every `refreshHours` on the features as they are then; requests read the list;",
    "- **online scoring**: each request scores the user's candidates on the features as they are now.",
    "",
    "`shiftAfterDays` into serving, a share `shiftShare` of users turn their taste by `shiftAngle` degrees toward another category (jobs/world's preference-shift drift); their profiles do not change. Quality is the served slate's NDCG against true relevance (DCG over the best DCG any system could serve the user now); cost is the ranker rows each path scores per served request, and where: on the request path (online) or in the batch job.",
  ].join("\n"),
  sizes: {
    default: { ...worldPart(LOOP_SIZES.default), serveDays: 3, shiftAfterDays: 1, shiftShare: 0.5, shiftAngle: 90, refreshHours: 24 },
    quick: { ...worldPart(LOOP_SIZES.quick), serveDays: 2, shiftAfterDays: 1, shiftShare: 0.5, shiftAngle: 90, refreshHours: 24 },
  },
  seeds: { default: 3, quick: 2 },
  checks: [
    { id: "stable-precompute-ok", metric: "stableGap", description: "served NDCG before the shift, online minus precomputed", rule: atMost(0.01), digits: 4 },
    { id: "online-fresher", metric: "shiftGap", description: "served NDCG of the shifted users in the 24 h after the shift, online minus precomputed", rule: atLeast(0.01), digits: 4 },
  ],
  run(p, ctx) {
    const runs = { online: runFreshness(ctx.seed, p, "online", ctx.log), batch: runFreshness(ctx.seed, p, "batch", ctx.log) };
    const perRequest = (m: ServingMode) => runs[m].rowsScored / runs[m].requests;
    ctx.log(`ranker rows scored per request: online ${perRequest("online").toFixed(0)}, precomputed ${perRequest("batch").toFixed(0)}`);
    const gap = (from: number, to: number, who: "shifted" | "others" | "all") => ndcgIn(runs.online, from, to, who) - ndcgIn(runs.batch, from, to, who);
    return {
      metrics: {
        stableGap: gap(-Infinity, 0, "all"),
        shiftGap: gap(0, 24, "shifted"),
        laterShiftGap: gap(24, Infinity, "shifted"),
        othersGap: gap(0, Infinity, "others"),
        shiftedLoss: ndcgIn(runs.online, 0, Infinity, "others") - ndcgIn(runs.online, 0, Infinity, "shifted"),
        onlineRowsPerRequest: perRequest("online"),
        batchRowsPerRequest: perRequest("batch"),
        workRatio: perRequest("batch") / perRequest("online"),
      },
      detail: { runs },
    };
  },
  report({ runs, params }) {
    const iv = (metric: string, digits = 4) => fmtInterval(meanInterval(runs.map((r) => r.metrics[metric] as number)), digits);
    const periods: [string, number, number, "shifted" | "others" | "all"][] = [
      ["before the shift, every user", -Infinity, 0, "all"],
      ["first 24 h after, shifted users", 0, 24, "shifted"],
      ["later, shifted users", 24, Infinity, "shifted"],
      ["after the shift, unchanged users", 0, Infinity, "others"],
    ];
    const bucketHours = runs[0]?.detail.runs.online.bucketHours ?? 6;
    const curve = (mode: ServingMode) => {
      const hours = [...new Set(runs.flatMap((r) => r.detail.runs[mode].buckets.filter((b) => b.shifted.n > 0).map((b) => b.hour)))].sort((a, b) => a - b);
      return hours.map((h) => [h, meanInterval(runs.map((r) => ndcgIn(r.detail.runs[mode], h, h + bucketHours, "shifted"))).mean] as [number, number]);
    };
    return {
      tables: [
        {
          title: "Served NDCG against true relevance, precomputed lists against online scoring",
          columns: ["period", ...Object.values(MODES), "online minus precomputed"],
          rows: periods.map(([name, from, to, who]) => [
            name,
            cell(runs.map((r) => ndcgIn(r.detail.runs.online, from, to, who)), 4),
            cell(runs.map((r) => ndcgIn(r.detail.runs.batch, from, to, who)), 4),
            cell(runs.map((r) => ndcgIn(r.detail.runs.online, from, to, who) - ndcgIn(r.detail.runs.batch, from, to, who)), 4),
          ]),
          note: `Mean ± half-width of the 95 % interval over seeds; ${cell(runs.map((r) => r.detail.runs.online.shiftedUsers), 0)} users shifted. Each mode is its own run of the same world and seed (user arrivals and clicks are drawn separately), so small gaps are noise.`,
        },
        {
          title: "Ranker work per served request",
          columns: ["path", "ranker rows scored per request", "scored at request time"],
          rows: [
            [MODES.online, cell(runs.map((r) => r.metrics.onlineRowsPerRequest as number), 0), "all of them"],
            [`${MODES.batch} (every ${params.refreshHours} h, every signed-up user)`, cell(runs.map((r) => r.metrics.batchRowsPerRequest as number), 0), "none (a list read), except users who signed up since the last run"],
          ],
          note: `Rows are candidate items the GBDT scored (${params.candidates} candidates per user, released items only), over the requests served. Latency is not timed here: online scoring puts this work on the request path, a precomputed list is one read (claims 22 and 23 time the live services).`,
        },
      ],
      figures: [
        {
          name: "shifted-users",
          title: "Served NDCG of the shifted users after the change",
          svg: lineChart({
            title: "Shifted users: precomputed against online",
            xLabel: "hours since the preference shift",
            yLabel: "served NDCG vs true relevance (mean over seeds)",
            series: (Object.keys(MODES) as ServingMode[]).map((m) => ({ name: MODES[m], points: curve(m) })),
          }),
        },
      ],
      facts: {
        stableGap: iv("stableGap"),
        shiftGap: iv("shiftGap"),
        laterShiftGap: iv("laterShiftGap"),
        shiftedLoss: iv("shiftedLoss"),
        workRatio: phraseRatio(meanInterval(runs.map((r) => r.metrics.workRatio as number)).mean),
        onlineRows: fmtInterval(meanInterval(runs.map((r) => r.metrics.onlineRowsPerRequest as number)), 0),
        refreshHours: String(params.refreshHours),
        angle: String(params.shiftAngle),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"Both, by how fast inputs change. While tastes were stable, lists precomputed every ${facts.refreshHours} h lost ${facts.stableGap} NDCG to online scoring and kept ${facts.onlineRows} ranker rows per request off the request path (though the batch job scored ${facts.workRatio} as many rows per served request, since it scores users who never come); after a ${facts.angle}-degree taste change, online scoring was ahead by ${facts.shiftGap} for the shifted users in the first day. I would precompute for the stable majority and score online where freshness pays, or refresh the lists on a trigger."`,
    "does not hold": ({ facts }) =>
      `"Precomputing is fine while inputs are stable (online minus precomputed ${facts.stableGap} NDCG, and no scoring on the request path instead of ${facts.onlineRows} ranker rows; the batch job did score ${facts.workRatio} as many rows per served request, since it scores users who never come), but online scoring did not rescue the users whose taste changed: ${facts.shiftGap} NDCG in the first day, ${facts.laterShiftGap} later, while those users lost ${facts.shiftedLoss} NDCG against the unchanged ones either way. Fresh ranker features cannot show what the candidates do not contain: the candidates come from a retrieval model trained before the change, and users rarely click what no longer fits them, so the features that would reveal the new taste barely move. Freshness has to reach retrieval (a user tower on recent history, exploration) before online ranking pays for its latency."`,
    inconclusive: ({ checks, facts }) =>
      `"Unsettled: ${openParts(checks)}. Online minus precomputed was ${facts.stableGap} NDCG while stable and ${facts.shiftGap} for shifted users in the first day; online scores ${facts.onlineRows} rows per request on the request path, the batch job ${facts.workRatio} as many per served request off it."`,
  },
});
