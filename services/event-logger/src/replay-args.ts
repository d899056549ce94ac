import { parseArgs } from "node:util";

export interface ReplayArgs {
  topic: string;
  fromMs: number;
  toMs: number;
}

export class ReplayArgsError extends Error {
  override readonly name = "ReplayArgsError";
}

export const REPLAY_USAGE = "usage: tsx src/replay.ts --topic <topic> --from <ISO time> --to <ISO time>";

/** Parses `--topic T --from ISO --to ISO`; every problem is listed, each naming its flag. */
export function parseReplayArgs(argv: readonly string[]): ReplayArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { topic: { type: "string" }, from: { type: "string" }, to: { type: "string" } },
    strict: true,
  });
  const problems: string[] = [];
  if (!values.topic) problems.push("--topic: required");
  const fromMs = values.from === undefined ? Number.NaN : Date.parse(values.from);
  const toMs = values.to === undefined ? Number.NaN : Date.parse(values.to);
  if (!Number.isFinite(fromMs)) problems.push(`--from: must be an ISO time, got ${values.from ?? "nothing"}`);
  if (!Number.isFinite(toMs)) problems.push(`--to: must be an ISO time, got ${values.to ?? "nothing"}`);
  else if (Number.isFinite(fromMs) && toMs <= fromMs) problems.push("--to: must be after --from");
  if (problems.length > 0) throw new ReplayArgsError(`${problems.join("; ")}\n${REPLAY_USAGE}`);
  return { topic: values.topic as string, fromMs, toMs };
}
