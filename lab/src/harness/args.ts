import { parseArgs } from "node:util";

export type LabCommand =
  | { kind: "claim"; ids: string[]; quick: boolean; seeds: number | undefined; out: string | undefined }
  | { kind: "all"; quick: boolean; seeds: number | undefined; out: string | undefined; only: string[] | undefined }
  | { kind: "list" }
  | { kind: "index"; out: string | undefined }
  | { kind: "help" };

export const USAGE = `claims lab

  npm run claim -- <id> [<id> ...] [--quick] [--seeds N] [--out DIR]   run claims by id (e.g. 11, 13, 29, x2)
  npm run claims [-- --quick] [--seeds N] [--out DIR] [--only 6,11]   run every claim, one after another
  npx tsx lab/src/cli.ts list                                         ids, titles, default seeds
  npx tsx lab/src/cli.ts index [--out DIR]                            render the pages, README.md and catalogue.md again from the JSON results

  --quick     CI size: small worlds, few seeds; written to reports/claims unless --out says otherwise
  --seeds N   repeat over seeds 1..N instead of the experiment's default (at least 3 at default size)
  --out DIR   where pages, JSON and SVGs go (default docs/claims, or reports/claims with --quick)`;

export class LabUsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${USAGE}`);
    this.name = "LabUsageError";
  }
}

function seedsOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new LabUsageError(`--seeds must be a positive integer, got "${value}"`);
  return n;
}

export function parseLabArgs(argv: readonly string[]): LabCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        quick: { type: "boolean", default: false },
        seeds: { type: "string" },
        out: { type: "string" },
        only: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new LabUsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  const [command, ...rest] = positionals;
  switch (command) {
    case "claim":
      if (rest.length === 0) throw new LabUsageError("name a claim id, e.g. npm run claim -- 11");
      return { kind: "claim", ids: rest, quick: values.quick ?? false, seeds: seedsOf(values.seeds), out: values.out };
    case "all":
      if (rest.length) throw new LabUsageError(`"all" takes no ids (use --only): ${rest.join(" ")}`);
      return {
        kind: "all",
        quick: values.quick ?? false,
        seeds: seedsOf(values.seeds),
        out: values.out,
        only: values.only === undefined ? undefined : values.only.split(",").map((s) => s.trim()).filter(Boolean),
      };
    case "list":
      return { kind: "list" };
    case "index":
      return { kind: "index", out: values.out };
    case undefined:
      return { kind: "help" };
    default:
      throw new LabUsageError(`unknown command "${command}"`);
  }
}
