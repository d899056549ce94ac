import path from "node:path";
import { fileURLToPath } from "node:url";
import { CLAIMS, findClaim } from "./claims/index";
import { LabUsageError, parseLabArgs, USAGE } from "./harness/args";
import type { AnyClaimExperiment } from "./harness/experiment";
import { rerenderPages, writeClaim } from "./harness/output";
import { decidingSentence } from "./harness/page";
import { runClaim } from "./harness/run";
import { textTable } from "./harness/table";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function outDir(out: string | undefined, quick: boolean): string {
  if (out !== undefined) return path.resolve(out);
  return path.join(ROOT, quick ? "reports/claims" : "docs/claims");
}

async function runAndWrite(experiment: AnyClaimExperiment, quick: boolean, seeds: number | undefined, dir: string): Promise<void> {
  const outcome = await runClaim(experiment, { quick, seeds });
  const written = writeClaim(outcome, dir);
  const out = process.stdout;
  out.write(`\n== claim ${experiment.id}: ${experiment.title}\n`);
  for (const t of outcome.report.tables) out.write(textTable(t) + "\n\n");
  out.write(`verdict: ${written.result.verdict.toUpperCase()} (${decidingSentence(written.result)})\n`);
  out.write(`page: ${path.relative(process.cwd(), written.page)} (${outcome.seconds.toFixed(1)} s)\n`);
}

async function main(): Promise<number> {
  const command = parseLabArgs(process.argv.slice(2));
  const started = performance.now();
  switch (command.kind) {
    case "help":
      process.stdout.write(USAGE + "\n");
      return 0;
    case "list":
      for (const c of CLAIMS) process.stdout.write(`${[c.id, ...c.aliases].join(", ").padEnd(12)} ${c.title} (${c.seeds.default} seeds)\n`);
      return 0;
    case "index": {
      const n = rerenderPages(outDir(command.out, false), CLAIMS, (line) => process.stderr.write(line + "\n"));
      process.stdout.write(`rendered ${n} claim pages, the index and the catalogue from their JSON results\n`);
      return 0;
    }
    case "claim": {
      const experiments = command.ids.map((id) => {
        const found = findClaim(id);
        if (!found) throw new LabUsageError(`no claim "${id}" in the lab; known: ${CLAIMS.map((c) => [c.id, ...c.aliases].join("/")).join(", ")}`);
        return found;
      });
      for (const e of experiments) await runAndWrite(e, command.quick, command.seeds, outDir(command.out, command.quick));
      break;
    }
    case "all": {
      const selected = command.only ? command.only.map((id) => findClaim(id) ?? (() => { throw new LabUsageError(`no claim "${id}"`); })()) : [...CLAIMS];
      const failed: string[] = [];
      for (const e of selected) {
        try {
          await runAndWrite(e, command.quick, command.seeds, outDir(command.out, command.quick));
        } catch (error) {
          failed.push(e.id);
          process.stderr.write(`claim ${e.id} failed: ${(error as Error).stack ?? String(error)}\n`);
        }
      }
      process.stdout.write(`\n${selected.length - failed.length} of ${selected.length} claims ran in ${((performance.now() - started) / 1000).toFixed(0)} s` + (failed.length ? `; failed: ${failed.join(", ")}` : "") + "\n");
      return failed.length ? 1 : 0;
    }
  }
  process.stdout.write(`total ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write((error instanceof LabUsageError ? error.message : ((error as Error).stack ?? String(error))) + "\n");
    process.exit(error instanceof LabUsageError ? 2 : 1);
  },
);
