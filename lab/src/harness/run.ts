import { Progress } from "@mlsd/progress";
import type { AnyClaimExperiment, CheckResult, ExperimentReport, SeedRun } from "./experiment";
import { meanInterval } from "./stats";
import { combine, describeRule, judge, type Verdict } from "./verdict";

export interface RunOptions {
  quick?: boolean;
  /** Seeds to repeat over (default: the experiment's, by size). */
  seeds?: number;
  log?: (line: string) => void;
  /** Progress output; tests pass a sink. */
  progressStream?: { write(chunk: string): unknown; isTTY?: boolean };
}

export interface ClaimOutcome {
  experiment: AnyClaimExperiment;
  quick: boolean;
  seeds: number[];
  params: unknown;
  runs: SeedRun<unknown>[];
  checks: CheckResult[];
  verdict: Verdict;
  deciding: CheckResult;
  report: ExperimentReport;
  interview: string;
  startedAt: Date;
  seconds: number;
}

/** Seeds are 1..n: the same seeds for every claim, so a reader can rerun any one of them. */
export function seedList(n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--seeds must be a positive integer, got ${n}`);
  return Array.from({ length: n }, (_, i) => i + 1);
}

export async function runClaim(experiment: AnyClaimExperiment, options: RunOptions = {}): Promise<ClaimOutcome> {
  const quick = options.quick ?? false;
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const seeds = seedList(options.seeds ?? (quick ? experiment.seeds.quick : experiment.seeds.default));
  const params: unknown = quick ? experiment.sizes.quick : experiment.sizes.default;
  const startedAt = new Date();
  const t0 = performance.now();

  // The thresholds are fixed before any number exists; saying them first makes that visible.
  log(`claim ${experiment.id}: ${experiment.title} (${quick ? "quick" : "default"} size, ${seeds.length} seeds)`);
  for (const c of experiment.checks) log(`  declared: ${c.description} ${describeRule(c.rule, c.digits ?? 3)}`);

  const progress = new Progress({ total: seeds.length, label: `claim ${experiment.id}`, unit: "seeds", ...(options.progressStream ? { stream: options.progressStream } : {}) });
  const runs: SeedRun<unknown>[] = [];
  for (const seed of seeds) {
    const s0 = performance.now();
    const outcome = await experiment.run(params, { seed, quick, log: (line) => log(`  [seed ${seed}] ${line}`) });
    for (const c of experiment.checks) {
      if (!(c.metric in outcome.metrics)) throw new Error(`claim ${experiment.id}: seed ${seed} did not report metric "${c.metric}" (check ${c.id})`);
    }
    runs.push({ seed, seconds: (performance.now() - s0) / 1000, ...outcome });
    // A seed is one long synchronous computation: yield between seeds so whoever drives the run (a
    // test runner's worker answering its parent, a progress bar) is heard at least once per seed.
    await new Promise<void>((resolve) => setImmediate(resolve));
    progress.update(runs.length);
  }
  progress.done();

  const checks: CheckResult[] = experiment.checks.map((check) => {
    const values = runs.map((r) => r.metrics[check.metric] as number);
    const interval = meanInterval(values);
    return { check, ruleText: describeRule(check.rule, check.digits ?? 3), values, interval, ...judge(check.rule, interval) };
  });
  const { verdict, deciding } = combine(checks);
  const byId = Object.fromEntries(checks.map((c) => [c.check.id, c]));
  const report = experiment.report({ params, runs, checks: byId, quick });
  const interview = experiment.interview[verdict]({ verdict, checks: byId, facts: report.facts ?? {} });
  return { experiment, quick, seeds, params, runs, checks, verdict, deciding, report, interview, startedAt, seconds: (performance.now() - t0) / 1000 };
}
