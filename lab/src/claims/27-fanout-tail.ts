import { lineChart } from "@mlsd/plot";
import { Rng } from "@mlsd/random";
import { defineClaim } from "../harness/experiment";
import { openParts, pct, phraseRatio } from "../harness/phrases";
import { meanInterval } from "../harness/stats";
import { cell, cellPct, fmt } from "../harness/table";
import { atLeast, within } from "../harness/verdict";
import { quantile, TimedJsonClient } from "../live/http";
import { withLiveStack, type LiveWorld } from "../live/stack";
import { startTailProxy } from "../live/tail-proxy";

interface Params {
  world: LiveWorld;
  /** Backend calls per request. */
  fanouts: number[];
  /** Requests per fan-out width. */
  requests: number;
  /** The injected tail: this share of backend calls waits slowMs. */
  slowShare: number;
  slowMs: number;
  /** Candidates asked per call. */
  k: number;
  /** The width the checks read. */
  judgedFanout: number;
}

interface WidthResult {
  n: number;
  callP50: number;
  callP99: number;
  fanP50: number;
  fanP99: number;
  /** Share of calls, and of fan-out requests, at or over slowMs. */
  callSlow: number;
  fanSlow: number;
  /** 1 - (1 - callSlow)^n: the fan-out's slow share if each call's tail is independent. */
  predictedFanSlow: number;
  errors: number;
}

interface Detail {
  widths: WidthResult[];
  /** The judged width without the injected tail. */
  control: WidthResult;
}

const WARM_UP = 100;

export default defineClaim<Params, Detail>({
  id: "27",
  aliases: ["53"],
  slug: "fanout-tail",
  title: "Tail latency compounds across fan-out: p99 matters most",
  live: true,
  claim:
    "A request that fans out to N backends waits for the slowest of them. If each backend call is slow with probability p, the request is slow with probability 1 - (1 - p)^N, so a tail that one backend keeps beyond its p99 shows up in the fan-out's p99 (and, for large N, its median). That is why p99, not p50, is the number to hold each backend to.",
  question: "p50 vs p99 latency: which to optimize? Serving latency tail? (grill Q27, Q53)",
  setup: [
    "The real retrieval service (its own process, the trainer's two-tower model and HNSW index for a synthetic world, started with @mlsd/testkit's Redis) behind a latency fault: a proxy holds a seeded share p of calls back for a fixed time before forwarding them (what toxiproxy's latency toxic does), so every call's tail is a known, independent event.",
    "",
    "A client sends requests one at a time; each fans out to N concurrent `POST /v1/candidates` calls for N different users and completes when the last call answers. Per width N: the per-call p50/p99 (all calls of those requests) and the fan-out request's p50/p99, the share of calls and of requests at or over the injected delay, and the share 1 - (1 - p_call)^N that independent tails predict. A control runs the judged width with nothing held back.",
    "",
    "The checks read N = the judged width: the request p99 over one backend call's p99 (N = 1, the number a backend's own budget quotes), and the measured slow share of requests over the predicted one. All calls go to one retrieval process, so part of the growth with N is queueing in it: the control row shows how much. Latencies are compared side by side within one run: the machine is shared.",
  ].join("\n"),
  sizes: {
    default: { world: { numUsers: 300, numItems: 1000, sessionsPerUser: 4 }, fanouts: [1, 2, 5, 10, 20], requests: 1000, slowShare: 0.005, slowMs: 50, k: 100, judgedFanout: 10 },
    quick: { world: { numUsers: 200, numItems: 600, sessionsPerUser: 4 }, fanouts: [1, 10], requests: 200, slowShare: 0.005, slowMs: 50, k: 100, judgedFanout: 10 },
  },
  seeds: { default: 3, quick: 1 },
  checks: [
    { id: "p99-compounds", metric: "p99Ratio", description: "fan-out request p99 at the judged width over one backend call's p99 (N = 1)", rule: atLeast(3), digits: 2 },
    { id: "independent-tails", metric: "slowShareRatio", description: "measured share of slow fan-out requests over 1 - (1 - p_call)^N at the judged width", rule: within(0.67, 1.5), digits: 2 },
  ],
  async run(p, ctx) {
    if (!p.fanouts.includes(p.judgedFanout) || !p.fanouts.includes(1)) throw new RangeError(`the fan-out widths ${p.fanouts.join(", ")} must include 1 and judgedFanout ${p.judgedFanout}`);
    return withLiveStack({ seed: ctx.seed, world: p.world, services: ["retrieval"], log: ctx.log }, async (stack) => {
      const proxy = await startTailProxy({ target: stack.url("retrieval"), slowShare: p.slowShare, slowMs: p.slowMs, seed: ctx.seed * 7919 });
      // The control: the same width through a proxy that holds nothing back (queueing in the one process, no injected tail).
      const direct = await startTailProxy({ target: stack.url("retrieval"), slowShare: 0, slowMs: 0, seed: ctx.seed });
      const client = new TimedJsonClient();
      const rng = new Rng(ctx.seed);
      const call = (base: string, user: number) => client.post(`${base}/v1/candidates`, { userId: String(user), k: p.k });
      const measure = async (base: string, n: number): Promise<WidthResult> => {
        const calls: number[] = [];
        const fans: number[] = [];
        let errors = 0;
        for (let r = 0; r < p.requests; r++) {
          const t0 = performance.now();
          const answers = await Promise.all(Array.from({ length: n }, () => call(base, rng.int(p.world.numUsers))));
          fans.push(performance.now() - t0);
          for (const a of answers) {
            calls.push(a.ms);
            if (a.status !== 200) errors++;
          }
        }
        const share = (xs: number[]) => xs.filter((x) => x >= p.slowMs).length / xs.length;
        const callSlow = share(calls);
        return { n, callP50: quantile(calls, 0.5), callP99: quantile(calls, 0.99), fanP50: quantile(fans, 0.5), fanP99: quantile(fans, 0.99), callSlow, fanSlow: share(fans), predictedFanSlow: 1 - (1 - callSlow) ** n, errors };
      };
      try {
        for (let i = 0; i < WARM_UP; i++) await call(proxy.url, rng.int(p.world.numUsers));
        const widths: WidthResult[] = [];
        for (const n of p.fanouts) {
          const w = await measure(proxy.url, n);
          widths.push(w);
          ctx.log(`N=${n}: call p99 ${fmt(w.callP99, 1)} ms, request p99 ${fmt(w.fanP99, 1)} ms, slow requests ${pct(w.fanSlow, 1)} (predicted ${pct(w.predictedFanSlow, 1)})`);
        }
        const control = await measure(direct.url, p.judgedFanout);
        ctx.log(`N=${p.judgedFanout} without the injected tail: request p99 ${fmt(control.fanP99, 1)} ms`);
        const errors = [...widths, control].reduce((s, w) => s + w.errors, 0);
        if (errors > 0) throw new Error(`claim 27: ${errors} backend calls failed; the latencies would not be of answers`);
        const judged = widths.find((w) => w.n === p.judgedFanout) as WidthResult;
        const alone = widths.find((w) => w.n === 1) as WidthResult;
        return {
          metrics: {
            p99Ratio: judged.fanP99 / alone.callP99,
            slowShareRatio: judged.predictedFanSlow > 0 ? judged.fanSlow / judged.predictedFanSlow : Number.NaN,
            p99RatioWithin: judged.fanP99 / judged.callP99,
            controlP99Ratio: control.fanP99 / alone.callP99,
          },
          detail: { widths, control },
        };
      } finally {
        client.close();
        await proxy.close();
        await direct.close();
      }
    });
  },
  report({ runs, params }) {
    const first = runs[0]?.detail as Detail;
    const col = (j: number, f: (w: WidthResult) => number) => runs.map((r) => f(r.detail.widths[j] as WidthResult));
    const row = (label: string, values: (f: (w: WidthResult) => number) => number[]) => [
      label,
      cell(values((x) => x.callP50), 2),
      cell(values((x) => x.callP99), 2),
      cell(values((x) => x.fanP50), 2),
      cell(values((x) => x.fanP99), 2),
      cellPct(values((x) => x.callSlow), 2),
      cellPct(values((x) => x.fanSlow), 1),
      cellPct(values((x) => x.predictedFanSlow), 1),
    ];
    const rows = [
      ...first.widths.map((w, j) => row(String(w.n), (f) => col(j, f))),
      row(`${params.judgedFanout}, no injected tail (control)`, (f) => runs.map((r) => f(r.detail.control))),
    ];
    const mean = (j: number, f: (w: WidthResult) => number) => meanInterval(col(j, f)).mean;
    const judgedIndex = first.widths.findIndex((w) => w.n === params.judgedFanout);
    const series = (name: string, f: (w: WidthResult) => number) => ({ name, points: first.widths.map((w, j) => [w.n, mean(j, f)] as [number, number]) });
    const iv = (m: string) => meanInterval(runs.map((r) => r.metrics[m] as number));
    return {
      tables: [
        {
          title: `Fan-out to the retrieval service with ${pct(params.slowShare, 1)} of calls held ${params.slowMs} ms (latencies in ms)`,
          columns: ["N calls", "call p50", "call p99", "request p50", "request p99", `calls >= ${params.slowMs} ms`, `requests >= ${params.slowMs} ms`, "predicted 1-(1-p)^N"],
          rows,
          note: `Mean ± half-width of the 95 % interval over seeds; ${params.requests} requests per width, one at a time. A request waits for its slowest call; 'predicted' uses the measured share of slow calls at that width. One retrieval process answers all N calls, so a call's latency also grows with N from queueing behind the others (the call p50 column, and the control row without the injected tail).`,
        },
      ],
      figures: [
        {
          name: "p99-by-fanout",
          title: "Per-call and fan-out latency by width",
          svg: lineChart({
            title: "Fan-out to a backend with a slow tail",
            xLabel: "backend calls per request (N)",
            yLabel: "latency, ms (mean over seeds, log)",
            yScale: "log",
            series: [series("one call p99", (w) => w.callP99), series("request p99", (w) => w.fanP99), series("one call p50", (w) => w.callP50), series("request p50", (w) => w.fanP50)],
          }),
        },
      ],
      facts: {
        n: String(params.judgedFanout),
        p: pct(params.slowShare, 1),
        slowMs: String(params.slowMs),
        callP99: fmt(mean(judgedIndex, (w) => w.callP99), 1),
        fanP99: fmt(mean(judgedIndex, (w) => w.fanP99), 1),
        p99Ratio: phraseRatio(iv("p99Ratio").mean),
        callP99Alone: fmt(mean(first.widths.findIndex((w) => w.n === 1), (w) => w.callP99), 1),
        controlP99: fmt(meanInterval(runs.map((r) => r.detail.control.fanP99)).mean, 1),
        p99RatioWithin: phraseRatio(iv("p99RatioWithin").mean),
        fanSlow: pct(mean(judgedIndex, (w) => w.fanSlow), 1),
        predicted: pct(mean(judgedIndex, (w) => w.predictedFanSlow), 1),
      },
    };
  },
  interview: {
    holds: ({ facts }) =>
      `"p99, because tails compound. On our retrieval service with ${facts.p} of calls delayed ${facts.slowMs} ms, one call's p99 was ${facts.callP99Alone} ms, but a request fanning out to ${facts.n} calls had a p99 of ${facts.fanP99} ms (${facts.p99Ratio}; ${facts.controlP99} ms without the slow calls): ${facts.fanSlow} of requests hit a slow call, as 1 - (1 - p)^N predicts (${facts.predicted}). So each backend's budget is set at a high percentile, and with fan-out I add hedged or tied requests, or cut N, rather than tune the median."`,
    "does not hold": ({ facts }) =>
      `"Not as the rule says here: with ${facts.p} of calls delayed ${facts.slowMs} ms, the ${facts.n}-way fan-out's p99 was ${facts.fanP99} ms against ${facts.callP99Alone} ms for one call (${facts.p99Ratio}), and ${facts.fanSlow} of requests were slow against ${facts.predicted} predicted by independent tails. When tails are correlated (one slow host, one GC pause for all calls) the fan-out pays them once, not N times; measure before assuming either."`,
    inconclusive: ({ checks, facts }) =>
      `"The ${facts.n}-way fan-out's p99 was ${facts.fanP99} ms against ${facts.callP99Alone} ms for one call (${facts.p99Ratio}; ${facts.controlP99} ms without the slow calls), ${facts.fanSlow} of requests slow against ${facts.predicted} predicted, not settled (${openParts(checks)})."`,
  },
});
