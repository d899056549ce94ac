import type { ClaimOutcome } from "./run";
import type { Table } from "./table";
import type { Rule, Verdict } from "./verdict";

export const CLAIM_RESULT_FORMAT = "mlsd-claim-result";
export const CLAIM_RESULT_VERSION = 1;

export interface CheckRecord {
  id: string;
  metric: string;
  description: string;
  rule: Rule;
  ruleText: string;
  digits: number;
  values: (number | null)[];
  mean: number | null;
  lo: number | null;
  hi: number | null;
  verdict: Verdict;
  margin: number | null;
}

/** The JSON written next to each page: everything the page says, as data. */
export interface ClaimResult {
  format: typeof CLAIM_RESULT_FORMAT;
  version: typeof CLAIM_RESULT_VERSION;
  id: string;
  aliases: string[];
  slug: string;
  title: string;
  claim: string;
  question: string;
  setup: string;
  size: "default" | "quick";
  seeds: number[];
  params: unknown;
  command: string;
  generatedAt: string;
  seconds: number;
  secondsPerSeed: number[];
  checks: CheckRecord[];
  verdict: Verdict;
  deciding: string;
  tables: Table[];
  figures: { name: string; title: string; file: string }[];
  facts: Record<string, string>;
  interview: string;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function claimFileBase(outcome: Pick<ClaimOutcome, "experiment">): string {
  return `${outcome.experiment.id.toLowerCase()}-${outcome.experiment.slug}`;
}

export function commandFor(id: string, quick: boolean, seeds: number, defaultSeeds: number): string {
  const flags = [quick ? "--quick" : "", seeds !== defaultSeeds ? `--seeds ${seeds}` : ""].filter(Boolean);
  return `npm run claim -- ${id.toLowerCase()}${flags.length ? " " + flags.join(" ") : ""}`;
}

export function toResult(outcome: ClaimOutcome): ClaimResult {
  const e = outcome.experiment;
  const base = claimFileBase(outcome);
  const defaultSeeds = outcome.quick ? e.seeds.quick : e.seeds.default;
  return {
    format: CLAIM_RESULT_FORMAT,
    version: CLAIM_RESULT_VERSION,
    id: e.id,
    aliases: [...e.aliases],
    slug: e.slug,
    title: e.title,
    claim: e.claim,
    question: e.question,
    setup: e.setup,
    size: outcome.quick ? "quick" : "default",
    seeds: outcome.seeds,
    params: outcome.params,
    command: commandFor(e.id, outcome.quick, outcome.seeds.length, defaultSeeds),
    generatedAt: outcome.startedAt.toISOString(),
    seconds: outcome.seconds,
    secondsPerSeed: outcome.runs.map((r) => r.seconds),
    checks: outcome.checks.map((c) => ({
      id: c.check.id,
      metric: c.check.metric,
      description: c.check.description,
      rule: c.check.rule,
      ruleText: c.ruleText,
      digits: c.check.digits ?? 3,
      values: c.values.map(finite),
      mean: finite(c.interval.mean),
      lo: finite(c.interval.lo),
      hi: finite(c.interval.hi),
      verdict: c.verdict,
      margin: finite(c.margin),
    })),
    verdict: outcome.verdict,
    deciding: outcome.deciding.check.id,
    tables: outcome.report.tables,
    figures: outcome.report.figures.map((f) => ({ name: f.name, title: f.title, file: `${base}-${f.name}.svg` })),
    facts: outcome.report.facts ?? {},
    interview: outcome.interview,
  };
}

export function parseClaimResult(text: string, source: string): ClaimResult {
  const value = JSON.parse(text) as Partial<ClaimResult>;
  if (value.format !== CLAIM_RESULT_FORMAT || value.version !== CLAIM_RESULT_VERSION) {
    throw new Error(`${source}: not a claim result (format ${String(value.format)} version ${String(value.version)})`);
  }
  return value as ClaimResult;
}
