import type { RolloutDecisionPayload } from "@mlsd/contracts";
import { GbdtModel } from "@mlsd/gbdt";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { loadRankerModel, publishRankerModel, RANKER_MODEL_NAME } from "@mlsd/model-formats/ranker";
import type { Rng } from "@mlsd/random";
import { clickSlate, DEFAULT_CLICK_MODEL, slateOutcome } from "@mlsd/synth";
import { TimedJsonClient } from "./http";
import { recommend, warmUsers } from "./recs-traffic";
import { LIVE_TOKENS, withLiveStack, type LiveStack, type LiveWorld } from "./stack";

/**
 * A candidate ranker made from the model in service. `reversed`: every leaf and the base score
 * negated, so it orders the candidates it is given in reverse, a deliberately worse model. `copy`:
 * the same trees under a new version, a candidate exactly as good (an A/A rollout). Either reads the
 * same features and serves beside the same retrieval model, so the rollout machinery accepts it.
 */
export async function publishCandidateRanker(registryDir: string, kind: "reversed" | "copy", alias = "candidate"): Promise<string> {
  const registry = openModelRegistry(registryDir);
  const current = loadRankerModel(registry, "current");
  const json = current.gbdt.toJSON();
  const sign = kind === "reversed" ? -1 : 1;
  const gbdt = GbdtModel.fromJSON({ ...json, baseScore: sign * json.baseScore, trees: json.trees.map((t) => ({ ...t, value: t.value.map((v) => sign * v) })) });
  const { features: _features, requires, ...extra } = current.extra;
  const published = await publishRankerModel(registry, {
    gbdt,
    dataWindow: current.manifest.dataWindow,
    metrics: {},
    extra: { ...extra, note: kind === "reversed" ? `ranker-gbdt@${current.version} with its scores negated: a deliberately worse candidate` : `a copy of ranker-gbdt@${current.version}` },
    ...(requires?.retrieval ? { retrievalVersions: requires.retrieval } : {}),
    version: `${current.version}-${kind}`,
    alias,
  });
  return published.manifest.version;
}

export interface RolloutPolicyParams {
  canaryShare: number;
  abShare: number;
  /** Users each arm needs before a stage may end. */
  minSamples: number;
  /** A stage ends without a decision once the smaller arm has this many users. */
  maxSamples: number;
  /** What the controller does when a stage's budget runs out. */
  onBudget: "rollback" | "hold";
}

/** The live stack's settings for a rollout: the controller's policy, and deadlines a loaded machine meets. */
export function rolloutStackEnv(p: RolloutPolicyParams): Partial<Record<"rollout-controller" | "recommender" | "ranker", Record<string, string>>> {
  return {
    "rollout-controller": {
      CANARY_SHARE: String(p.canaryShare),
      AB_SHARE: String(p.abShare),
      ROLLOUT_MIN_SAMPLES: String(p.minSamples),
      ROLLOUT_MAX_SAMPLES: String(p.maxSamples),
      ROLLOUT_ON_BUDGET: p.onBudget,
      ROLLOUT_TICK_SECONDS: "0.5",
      // A click comes back within a second here (the lab's users answer at once): a short window lets answers count sooner.
      CLICK_ATTRIBUTION_MINUTES: "0.1",
    },
    recommender: { REQUEST_BUDGET_MS: "2000", REDIS_DEADLINE_MS: "1000", RETRIEVAL_DEADLINE_MS: "1000", RANKER_DEADLINE_MS: "1000" },
    ranker: { FEATURE_DEADLINE_MS: "1000" },
  };
}

export interface SessionOutcome {
  /** The ranker arm that answered ("current", "challenger"), or null when the path fell back before the ranker. */
  arm: string | null;
  shown: number;
  clicks: number;
  ok: boolean;
}

/**
 * One visit of a world user: a recommendation from the live recommender, then the clicks the world's
 * click model draws from the items' true relevance, reported back as the front end would.
 */
export async function userVisit(client: TimedJsonClient, stack: LiveStack, userId: string, k: number, rng: Rng): Promise<SessionOutcome> {
  const a = await recommend(client, stack, userId, k);
  if (a.status !== 200 || !a.body) return { arm: null, shown: 0, clicks: 0, ok: false };
  const items = a.body.items;
  const out = slateOutcome(items.length);
  items.forEach((item, i) => (out.relevance[i] = stack.world.trueRelevance(Number(userId), Number(item.itemId))));
  clickSlate(DEFAULT_CLICK_MODEL, rng, out);
  let clicks = 0;
  for (let i = 0; i < items.length; i++) {
    if (!out.clicked[i]) continue;
    const item = items[i] as { itemId: string; position: number };
    const c = await client.post(`${stack.url("recommender")}/v1/events/click`, { requestId: a.body.requestId, userId, itemId: item.itemId, position: item.position }, { authorization: `Bearer ${LIVE_TOKENS.clicks}` });
    if (c.status < 300) clicks++;
  }
  return { arm: a.body.arms?.ranker ?? null, shown: items.length, clicks, ok: true };
}

export interface RolloutView {
  status: string;
  stage: string;
  decisions: RolloutDecisionPayload[];
  exposure: { totalRequests: number; totalUnits: number };
  latest: { primaryMetric: string; current: { units: number; summary: Record<string, number | null> }; challenger: { units: number; summary: Record<string, number | null> }; pValue: number | null } | null;
}

export async function startRollout(client: TimedJsonClient, stack: LiveStack, stages: readonly ("shadow" | "canary" | "ab")[], reason: string): Promise<RolloutView> {
  const a = await client.post<RolloutView & { error?: { message: string } }>(`${stack.url("rollout-controller")}/v1/rollouts`, { model: RANKER_MODEL_NAME, stages, reason }, { authorization: `Bearer ${LIVE_TOKENS.admin}` });
  if (a.status !== 201 || !a.body) throw new Error(`the rollout controller refused the rollout (${a.status}): ${a.body?.error?.message ?? a.error ?? ""}`);
  return a.body;
}

export async function readRollout(stack: LiveStack): Promise<RolloutView> {
  const res = await fetch(`${stack.url("rollout-controller")}/v1/rollouts/${RANKER_MODEL_NAME}`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET /v1/rollouts/${RANKER_MODEL_NAME} answered ${res.status}`);
  return (await res.json()) as RolloutView;
}

/** How long a rollout gets to decide on the visits already made once they run out. */
export const SETTLE_MS = 20_000;

/** Polls the rollout until it is no longer running (its view), or null after `ms`. */
async function awaitEnd(stack: LiveStack, ms: number): Promise<RolloutView | null> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const r = await readRollout(stack);
    if (r.status !== "running") return r;
    await new Promise((res) => setTimeout(res, 250));
  }
  return null;
}

/** An operator's stop: the challenger withdrawn, current keeps serving. Returns the ended rollout's view. */
export async function abortRollout(client: TimedJsonClient, stack: LiveStack, reason: string): Promise<RolloutView> {
  const a = await client.post<{ error?: { message: string } }>(`${stack.url("rollout-controller")}/v1/rollouts/${RANKER_MODEL_NAME}/abort`, { reason }, { authorization: `Bearer ${LIVE_TOKENS.admin}` });
  // 404: it ended between the last look and the stop.
  if (a.status !== 200 && a.status !== 404) throw new Error(`the rollout controller refused the abort (${a.status}): ${a.body?.error?.message ?? a.error ?? ""}`);
  return readRollout(stack);
}

export interface RolloutRunOptions {
  stages: readonly ("shadow" | "canary" | "ab")[];
  users: readonly string[];
  k: number;
  /** Concurrent visitors. */
  workers: number;
  /** Visits before the rollout starts (the controller plans its first stage from them). */
  before: number;
  /** Stop visiting after this many visits; a rollout still undecided `settleMs` later is aborted. */
  maxVisits: number;
  /** How long the controller gets to decide on the visits already made once they run out (default SETTLE_MS). */
  settleMs?: number;
  rng: Rng;
  log: (line: string) => void;
}

export interface RolloutRun {
  /** How the rollout ended: rolled-back, promoted, held... or "aborted" when the lab stopped it (the visits ran out and the controller had not decided). */
  status: string;
  /** The stage and action of its last decision. */
  stage: string;
  action: string;
  reasons: string[];
  /** Guardrails breached at the last decision. */
  breached: string[];
  /** Real seconds from the start to the decision that ended it (to the last visit when the lab aborted it). */
  seconds: number;
  /** Service-clock ms the deciding stage had run. */
  stageClockMs: number;
  /** What the candidate answered over the whole rollout, counted from the answers the visitors got: requests and distinct users. */
  exposedRequests: number;
  exposedUsers: number;
  /** The same as the controller counts it (added up at each decision: zero while the first stage runs). */
  controllerRequests: number;
  controllerUsers: number;
  /** Visits during the rollout, and the ranker's CPU per visit during it (ms). */
  visits: number;
  rankerCpuMsPerVisit: number;
  /** CTR of the lab's own visits by the ranker arm that answered. */
  ctrCurrent: number;
  ctrChallenger: number;
  numbers: Record<string, number | null>;
}

/** Starts a rollout of the registry's `candidate` ranker and drives world users until the controller ends it. */
export async function runRollout(client: TimedJsonClient, stack: LiveStack, o: RolloutRunOptions): Promise<RolloutRun> {
  const visit = () => userVisit(client, stack, o.users[o.rng.int(o.users.length)] as string, o.k, o.rng);
  for (let i = 0; i < o.before; i++) await visit();
  const cpu0 = stack.cpuSeconds("ranker");
  const t0 = performance.now();
  await startRollout(client, stack, o.stages, `lab: a deliberately worse ranker through ${o.stages.join(" + ")}`);
  const by = { current: { shown: 0, clicks: 0 }, challenger: { shown: 0, clicks: 0 } };
  const exposed = { requests: 0, users: new Set<string>() };
  let visits = 0;
  let done: RolloutView | null = null;
  let seconds = 0;
  const worker = async () => {
    while (!done && visits < o.maxVisits) {
      visits++;
      const userId = o.users[o.rng.int(o.users.length)] as string;
      const v = await userVisit(client, stack, userId, o.k, o.rng);
      if (v.arm === "challenger") {
        exposed.requests++;
        exposed.users.add(userId);
      }
      const arm = v.arm === "challenger" ? by.challenger : v.arm === "current" ? by.current : null;
      if (arm) {
        arm.shown += v.shown;
        arm.clicks += v.clicks;
      }
    }
  };
  const watch = async () => {
    while (!done && visits < o.maxVisits) {
      await new Promise((r) => setTimeout(r, 250));
      const r = await readRollout(stack);
      if (r.status !== "running") {
        seconds = (performance.now() - t0) / 1000;
        done = r;
      }
    }
  };
  await Promise.all([watch(), ...Array.from({ length: o.workers }, worker)]);
  // The visits ran out first. The controller may still decide on the answers already made (its
  // consumer lags behind the visitors on a loaded machine), so give it a few ticks; a rollout it
  // has still not ended is aborted, so the stack is left with none running for the next one.
  let final: RolloutView | null = done;
  if (!final) {
    const settleMs = o.settleMs ?? SETTLE_MS;
    // An aborted rollout's seconds end with the visits: the wait after them would only add to a time that found nothing.
    seconds = (performance.now() - t0) / 1000;
    final = await awaitEnd(stack, settleMs);
    if (final) seconds = (performance.now() - t0) / 1000;
    else {
      o.log(`${o.stages.join("+")}: no decision ${(settleMs / 1000).toFixed(0)} s after the last of ${visits} visits; the lab aborts the rollout`);
      final = await abortRollout(client, stack, `lab: no decision ${(settleMs / 1000).toFixed(0)} s after the last of ${visits} visits`);
    }
  }
  const cpuMs = (stack.cpuSeconds("ranker") - cpu0) * 1000;
  const last = final.decisions.at(-1);
  const run: RolloutRun = {
    status: final.status,
    stage: last?.stage ?? final.stage,
    action: last?.action ?? "none",
    reasons: last?.reasons ?? [],
    breached: (last?.guardrails ?? []).filter((g) => g.status === "breached").map((g) => g.name),
    seconds,
    stageClockMs: last?.stageElapsedMs ?? 0,
    exposedRequests: exposed.requests,
    exposedUsers: exposed.users.size,
    controllerRequests: final.exposure.totalRequests,
    controllerUsers: final.exposure.totalUnits,
    visits,
    rankerCpuMsPerVisit: visits > 0 ? cpuMs / visits : Number.NaN,
    ctrCurrent: by.current.shown > 0 ? by.current.clicks / by.current.shown : Number.NaN,
    ctrChallenger: by.challenger.shown > 0 ? by.challenger.clicks / by.challenger.shown : Number.NaN,
    numbers: last?.numbers ?? {},
  };
  o.log(`${o.stages.join("+")}: ${run.status} at ${run.stage}/${run.action} after ${run.seconds.toFixed(1)} s, ${run.visits} visits; the candidate answered ${run.exposedRequests} requests from ${run.exposedUsers} users; breached: ${run.breached.join(", ") || "none"}`);
  return run;
}

/** What every rollout claim sets: the world, the visitors and the controller's policy. */
export interface RolloutClaimParams extends RolloutPolicyParams {
  world: LiveWorld;
  /** Users the visits draw from (the first ones the models answer); default every user of the world. */
  users?: number;
  workers: number;
  /** Visits before each rollout starts. */
  before: number;
  maxVisits: number;
  k: number;
}

/** The live stack with the rollout controller, a client and the users the models answer, for one seed. */
export function withRolloutStack<T>(seed: number, p: RolloutClaimParams, log: (line: string) => void, body: (stack: LiveStack, client: TimedJsonClient, users: string[]) => Promise<T>): Promise<T> {
  return withLiveStack({ seed, world: p.world, services: ["retrieval", "ranker", "recommender", "rollout-controller"], env: rolloutStackEnv(p), log }, async (stack) => {
    const client = new TimedJsonClient();
    try {
      const users = await warmUsers(client, stack, p.k, p.users ?? p.world.numUsers);
      return await body(stack, client, users);
    } finally {
      client.close();
    }
  });
}
