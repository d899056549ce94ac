import { AliasTable, Rng } from "@mlsd/random";
import { createRecWorld, RecWorld, type RecWorldInput } from "@mlsd/synth";
import { LoadgenInputError, requireShare } from "../errors";
import { isRecord, numericRecord, type LoadTarget, type PreparedRequest } from "./target";

export interface RecsMixOptions {
  /** The world the recommender was trained on (default the "small" preset), or the world itself. */
  world?: RecWorldInput | RecWorld;
  /** Share of requests from users no model has seen (ids outside the world). */
  newUserShare?: number;
  /** Slate sizes, drawn uniformly. */
  k?: readonly number[];
  seed?: number;
}

const DEVICES = ["mobile", "desktop", "tablet"] as const;

export interface RecommendationsBody {
  userId: string;
  k: number;
  context: { device: (typeof DEVICES)[number]; hour: number };
}

/**
 * `POST /v1/recommendations` bodies: known users (signed up by the training cut-off) drawn by
 * their activity, so heavy users come back often as in real traffic, and a share of new users the
 * models cannot know (ids past the world's last user), each with a slate size and a context.
 */
export function recsTarget(options: RecsMixOptions = {}): LoadTarget {
  const newUserShare = options.newUserShare ?? 0.1;
  requireShare("newUserShare", newUserShare);
  const ks = options.k ?? [10];
  if (ks.length === 0) throw new LoadgenInputError("k", "needs at least one slate size");
  ks.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 1 || k > 100) throw new LoadgenInputError(`k[${i}]`, `must be an integer in [1, 100], got ${k}`);
  });
  const world = options.world instanceof RecWorld ? options.world : createRecWorld(options.world ?? { preset: "small" });

  const known: number[] = [];
  for (let u = 0; u < world.numUsers; u++) if ((world.users.signupDay[u] as number) <= world.options.trainCutoffDay) known.push(u);
  if (known.length === 0 && newUserShare < 1) throw new LoadgenInputError("world", "has no user signed up by the training cut-off; set newUserShare to 1");
  const byActivity = known.length > 0 ? new AliasTable(known.map((u) => world.users.activity[u] as number)) : null;
  const rng = new Rng(options.seed ?? 1);
  let newUsers = 0;

  return {
    endpoint: "recommendations",
    path: "/v1/recommendations",
    next(): PreparedRequest {
      const k = rng.pick(ks);
      const hour = rng.int(24);
      let body: RecommendationsBody;
      if (!byActivity || rng.bernoulli(newUserShare)) {
        body = { userId: String(world.numUsers + newUsers++), k, context: { device: rng.pick(DEVICES), hour } };
      } else {
        const u = known[byActivity.sample(rng)] as number;
        body = { userId: String(u), k, context: { device: DEVICES[world.users.device[u] as number] ?? "mobile", hour } };
      }
      return { body: JSON.stringify(body), expectRejection: false };
    },
    interpret(_status, body) {
      if (!isRecord(body)) return {};
      const timings = numericRecord(body.timings);
      // A new user's cold-start list is the designed answer, not a degraded one: it does not count against the budget.
      return { ...(timings ? { timings } : {}), fallback: typeof body.fallback === "string" && body.fallback.length > 0 && body.fallback !== "cold-start" };
    },
  };
}
