import fs from "node:fs";
import path from "node:path";
import { CATALOGUE } from "../catalogue";
import { renderCatalogue, renderIndex } from "./index-page";
import { renderClaimPage } from "./page";
import { claimFileBase, parseClaimResult, toResult, type ClaimResult } from "./result";
import type { ClaimOutcome } from "./run";
import { combine } from "./verdict";

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
 * Renders every claim page again from its JSON result (the run's numbers, verdicts and interview
 * text), without running anything: for a change in how pages are laid out.
 */
export function rerenderPages(dir: string): number {
  const results = readResults(dir);
  for (const r of results) {
    const checks = r.checks.map((c) => ({ check: { id: c.id, metric: c.metric, description: c.description, rule: c.rule }, verdict: c.verdict, margin: c.margin ?? Number.NaN }));
    const { verdict, deciding } = combine(checks);
    const result = { ...r, verdict, deciding: deciding.check.id };
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
