import { CARD_TESTING_DEFAULTS } from "@mlsd/synth";
import { parseWorldTime } from "./timeline";

/** A change of the world at a world time, as the `--drift` flag gives it. */
export type WorldDrift =
  | { kind: "preference-shift"; at: number; share: number; angleDegrees: number }
  | { kind: "new-items"; at: number; count: number; qualityShift: number }
  | { kind: "card-testing"; at: number; cardsPerDay: number; burst: { min: number; max: number }; amount: { min: number; max: number }; spreadMinutes: number }
  | { kind: "terminal-wave"; at: number; terminals: number; days: number };

export type WorldDriftKind = WorldDrift["kind"];

export const DRIFT_HELP = `--drift KIND@WHEN[,key=value...]   repeatable; WHEN is +2d, +36h, +90m from the world's start or an ISO time
    preference-shift   share=0.5 angle=60     a share of users' tastes turn by angle degrees toward another category
    new-items          count=500 quality=0.5  a batch of new items is released (better on average by quality)
    card-testing       cards=30 burst=8-30 amount=0.5-5 spread=20   bursts of small fraudulent tests on stolen cards (cards a day, minutes per burst)
    terminal-wave      terminals=50 days=14   that many terminals compromised at once, for that many days`;

const KEYS: Record<WorldDriftKind, readonly string[]> = {
  "preference-shift": ["share", "angle"],
  "new-items": ["count", "quality"],
  "card-testing": ["cards", "burst", "amount", "spread"],
  "terminal-wave": ["terminals", "days"],
};

export class DriftSpecError extends RangeError {
  constructor(spec: string, message: string) {
    super(`--drift ${spec}: ${message}`);
    this.name = "DriftSpecError";
  }
}

/** Parses `card-testing@+2d,cards=40,burst=10-30`; every value is checked, unknown keys are refused. */
export function parseDrift(text: string, worldStartMs: number): WorldDrift {
  const [head, ...pairs] = text.split(",");
  const m = /^([a-z-]+)@(.+)$/.exec(head ?? "");
  if (!m) throw new DriftSpecError(text, "expected KIND@WHEN, e.g. card-testing@+2d");
  const kind = m[1] as WorldDriftKind;
  if (!(kind in KEYS)) throw new DriftSpecError(text, `unknown kind "${m[1]}" (known: ${Object.keys(KEYS).join(", ")})`);
  let at: number;
  try {
    at = parseWorldTime(m[2] as string, worldStartMs);
  } catch (error) {
    throw new DriftSpecError(text, (error as Error).message);
  }
  const values = new Map<string, string>();
  for (const pair of pairs) {
    const [key, value] = pair.split("=");
    if (!key || value === undefined) throw new DriftSpecError(text, `"${pair}" is not key=value`);
    if (!KEYS[kind].includes(key)) throw new DriftSpecError(text, `unknown key "${key}" for ${kind} (known: ${KEYS[kind].join(", ")})`);
    values.set(key, value);
  }
  const num = (key: string, fallback: number, check: (v: number) => boolean, rule: string): number => {
    const raw = values.get(key);
    const v = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(v) || !check(v)) throw new DriftSpecError(text, `${key} must be ${rule}, got ${raw}`);
    return v;
  };
  const range = (key: string, fallback: { min: number; max: number }, integer: boolean): { min: number; max: number } => {
    const raw = values.get(key);
    if (raw === undefined) return { ...fallback };
    const r = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(raw);
    const min = Number(r?.[1]);
    const max = Number(r?.[2]);
    if (!r || !(max >= min) || (integer && (!Number.isInteger(min) || !Number.isInteger(max) || min < 1))) {
      throw new DriftSpecError(text, `${key} must be MIN-MAX${integer ? " (integers >= 1)" : ""}, got ${raw}`);
    }
    return { min, max };
  };
  const share = (v: number) => v >= 0 && v <= 1;
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  switch (kind) {
    case "preference-shift":
      return { kind, at, share: num("share", 0.5, share, "in [0, 1]"), angleDegrees: num("angle", 60, (v) => v >= 0 && v <= 180, "in [0, 180]") };
    case "new-items":
      return { kind, at, count: num("count", 500, positiveInt, "a positive integer"), qualityShift: num("quality", 0.5, () => true, "a number") };
    case "card-testing":
      return {
        kind,
        at,
        cardsPerDay: num("cards", 30, (v) => v > 0, "positive"),
        burst: range("burst", CARD_TESTING_DEFAULTS.burst, true),
        amount: range("amount", CARD_TESTING_DEFAULTS.amount, false),
        spreadMinutes: num("spread", CARD_TESTING_DEFAULTS.spreadMinutes, (v) => v > 0, "positive"),
      };
    case "terminal-wave":
      return { kind, at, terminals: num("terminals", 50, positiveInt, "a positive integer"), days: num("days", 14, positiveInt, "a positive integer") };
  }
}

/** `card-testing@2024-02-02T00:00:00.000Z`: how ground-truth events name the drifts in force. */
export function driftName(drift: WorldDrift): string {
  return `${drift.kind}@${new Date(drift.at).toISOString()}`;
}

/** Which design a drift changes. */
export function driftDesign(drift: WorldDrift): "recs" | "fraud" {
  return drift.kind === "preference-shift" || drift.kind === "new-items" ? "recs" : "fraud";
}
