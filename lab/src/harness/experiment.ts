import type { Interval } from "./stats";
import type { Table } from "./table";
import type { Check, Rule, Verdict } from "./verdict";

export interface ExperimentContext {
  seed: number;
  /** CI-sized run: small worlds, few rounds; the machinery is exercised, the verdict is not the point. */
  quick: boolean;
  /** A progress line (stderr). */
  log(line: string): void;
}

export interface SeedOutcome<D> {
  /** Every metric a check names, for this seed. */
  metrics: Record<string, number>;
  /** Whatever the report needs to build tables and figures. */
  detail: D;
}

export interface SeedRun<D> extends SeedOutcome<D> {
  seed: number;
  seconds: number;
}

export interface CheckResult {
  check: Check;
  ruleText: string;
  values: number[];
  interval: Interval;
  verdict: Verdict;
  margin: number;
}

export interface Figure {
  /** File-name part: the SVG is written as <id>-<slug>-<name>.svg. */
  name: string;
  title: string;
  svg: string;
}

export interface ReportInput<P, D> {
  params: P;
  runs: readonly SeedRun<D>[];
  checks: Readonly<Record<string, CheckResult>>;
  quick: boolean;
}

export interface ExperimentReport {
  tables: Table[];
  figures: Figure[];
  /** Named values (already formatted) the interview templates may quote. */
  facts?: Record<string, string>;
}

export interface InterviewInput {
  verdict: Verdict;
  checks: Readonly<Record<string, CheckResult>>;
  facts: Readonly<Record<string, string>>;
}

/**
 * One claim as an experiment. Everything but `run` and `report` is fixed text or declarations that
 * exist before anything runs; the page is assembled from them and the measured runs.
 */
export interface ClaimExperiment<P, D> {
  /** The catalogue id (an interview-grill question number or X<n>). */
  id: string;
  /** Other catalogue ids the same experiment answers. */
  aliases: readonly string[];
  slug: string;
  title: string;
  /** The claim in plain words. */
  claim: string;
  /** The interview question it answers. */
  question: string;
  /** How the experiment is set up (fixed text; the run's parameters are listed from `sizes`). */
  setup: string;
  sizes: { default: P; quick: P };
  /**
   * Runs on the live system (Redis, Kafka and the services, started by each run): kept out of the
   * unit suite's quick run, run by the lab's integration tests instead.
   */
  live?: boolean;
  seeds: { default: number; quick: number };
  checks: readonly Check[];
  run(params: P, ctx: ExperimentContext): Promise<SeedOutcome<D>> | SeedOutcome<D>;
  report(input: ReportInput<P, D>): ExperimentReport;
  /** What to say, chosen by the measured verdict, with the numbers filled in. */
  interview: Record<Verdict, (input: InterviewInput) => string>;
}

// Experiments differ in their parameter and detail types; the registry holds them side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyClaimExperiment = ClaimExperiment<any, any>;

export function defineClaim<P, D>(experiment: ClaimExperiment<P, D>): ClaimExperiment<P, D> {
  const ids = new Set<string>();
  for (const c of experiment.checks) {
    if (ids.has(c.id)) throw new RangeError(`claim ${experiment.id}: check id "${c.id}" is used twice`);
    ids.add(c.id);
  }
  if (experiment.checks.length === 0) throw new RangeError(`claim ${experiment.id}: declare at least one check`);
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(experiment.slug)) throw new RangeError(`claim ${experiment.id}: slug "${experiment.slug}" must be kebab-case`);
  return experiment;
}

export type { Check, Rule, Verdict };
