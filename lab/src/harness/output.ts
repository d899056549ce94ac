import fs from "node:fs";
import path from "node:path";
import { CATALOGUE } from "../catalogue";
import { renderCatalogue, renderIndex } from "./index-page";
import { renderClaimPage } from "./page";
import { claimFileBase, parseClaimResult, toResult, type ClaimResult } from "./result";
import type { AnyClaimExperiment, CheckResult } from "./experiment";
import type { ClaimOutcome } from "./run";
import { meanInterval } from "./stats";
import { combine, judge } from "./verdict";

export interface WrittenClaim {
  result: ClaimResult;
  page: string;
  files: string[];
}

/** Page, JSON and SVGs of one claim, then the index and catalogue from every result in the folder. */
export function writeClaim(outcome: ClaimOutcome, dir: string): WrittenClaim {
  fs.mkdirSync(dir, { recursive: true });
  const base = claimFileBase(outcome);
  const result = toResult(outcome);
  const files: string[] = [];
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    files.push(file);
  };
  for (const f of outcome.report.figures) write(`${base}-${f.name}.svg`, f.svg);
  write(`${base}.json`, JSON.stringify(result, null, 2) + "\n");
  const page = renderClaimPage(result, `lab/src/claims/${base}.ts`);
  write(`${base}.md`, page);
  writeIndex(dir);
  return { result, page: path.join(dir, `${base}.md`), files };
}

export function readResults(dir: string): ClaimResult[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => parseClaimResult(fs.readFileSync(path.join(dir, f), "utf8"), path.join(dir, f)));
}

/**
 * Renders every claim page again from its JSON result, without running anything: the run's numbers,
 * per-check rules and facts, through the current page layout and the experiment's interview
 * templates (a template needing a fact the run did not record keeps the recorded text). The rules
 * are the ones recorded with the run, so a threshold edited since cannot change an old verdict.
 */
export function rerenderPages(dir: string, experiments: readonly AnyClaimExperiment[], warn: (line: string) => void = () => {}): number {
  const results = readResults(dir);
  for (const r of results) {
    const checks: CheckResult[] = r.checks.map((c) => {
      const values = c.values.map((v) => v ?? Number.NaN);
      const interval = meanInterval(values);
      const check = { id: c.id, metric: c.metric, description: c.description, rule: c.rule, digits: c.digits };
      return { check, ruleText: c.ruleText, values, interval, ...judge(c.rule, interval) };
    });
    const { verdict, deciding } = combine(checks);
    const experiment = experiments.find((e) => e.id === r.id);
    let interview = r.interview;
    if (experiment) {
      const text = experiment.interview[verdict]({ verdict, checks: Object.fromEntries(checks.map((c) => [c.check.id, c])), facts: r.facts });
      if (/undefined|NaN/.test(text)) warn(`claim ${r.id}: the interview template needs facts this run did not record; kept the recorded text`);
      else interview = text;
    }
    const result = { ...r, verdict, deciding: deciding.check.id, interview };
    const base = `${r.id.toLowerCase()}-${r.slug}`;
    fs.writeFileSync(path.join(dir, `${base}.json`), JSON.stringify(result, null, 2) + "\n");
    fs.writeFileSync(path.join(dir, `${base}.md`), renderClaimPage(result, `lab/src/claims/${base}.ts`));
  }
  writeIndex(dir);
  return results.length;
}

export function writeIndex(dir: string): void {
  const results = readResults(dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "README.md"), renderIndex(results, CATALOGUE));
  fs.writeFileSync(path.join(dir, "catalogue.md"), renderCatalogue(CATALOGUE, results));
}
