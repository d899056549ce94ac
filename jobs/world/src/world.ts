import { makeEvent, type RecommendationsResponse, type ScoreTransactionResponse, type SubmitLabelRequest } from "@mlsd/contracts";
import type { EventPublisher } from "@mlsd/events";
import { sleep, type Clock } from "@mlsd/loadgen";
import type { ScaledClock } from "@mlsd/service-kit";
import { Agenda } from "./agenda";
import type { CardHolders, WorldTransaction } from "./card-holders";
import { progressLine, renderSummary, snapshot, WorldCounters, type AskedRates, type Endpoint, type ProgressSnapshot } from "./counters";
import { driftDesign, driftName, type WorldDrift } from "./drift";
import { servedDcg, type PlannedClick, type RecsUsers, type Session } from "./recs-users";
import { realRate, realTimeOf } from "./timeline";
import type { WorldResponse, WorldTransport } from "./transport";

type Action =
  | { kind: "session"; session: Session }
  | { kind: "click"; click: PlannedClick }
  | { kind: "transaction"; tx: WorldTransaction }
  | { kind: "label"; body: SubmitLabelRequest }
  | { kind: "drift"; drift: WorldDrift };

export interface WorldRunOptions {
  /** The services' clock: the world acts when it reads each action's world time. */
  clock: ScaledClock;
  /** Real time for waiting: its now() must be the clock's real time (Date.now in a real run). */
  timer: Clock;
  send: WorldTransport;
  /** Where ground truth goes (Kafka in a real run). */
  outcomes: EventPublisher;
  recs?: RecsUsers | null;
  fraud?: CardHolders | null;
  drifts?: readonly WorldDrift[];
  /** The world acts from here (world epoch ms): where the training history ends. */
  startMs: number;
  /** Nothing happens at or after this world time. */
  endMs: number;
  /** Real milliseconds after which the run stops, whatever the world time. */
  maxRealMs?: number;
  maxInFlight?: number;
  /**
   * Behind schedule (the clock started before the world), the world catches up at most this many
   * times faster than its own rates (default 3), so a late start is not a burst that overwhelms
   * the services; Infinity catches up as fast as maxInFlight allows.
   */
  catchUpFactor?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A progress line every `everyMs` of real time. */
  progress?: { everyMs: number; write(line: string): void } | null;
  /** One line per notable event (drift applied, catching up). */
  log?: (line: string) => void;
  /** Where the run counts (default: new ones); pass them in to read them while it runs (the metrics endpoint). */
  counters?: WorldCounters;
}

export interface WorldRunResult {
  counters: WorldCounters;
  realMs: number;
  /** World time reached: the last action dispatched (or the end). */
  worldToMs: number;
  asked: AskedRates;
  summary: string;
}

/** How often the loop wakes while waiting, to notice a stop and print progress (real ms). */
const MAX_NAP_MS = 200;

/**
 * Runs the world against the services: every action (a session, a click, a transaction, a label,
 * a drift) waits until the shared clock reads its world time, so the services see traffic at the
 * world's own rates. Requests are open-loop (the world does not wait for an answer before the next
 * user acts), bounded by `maxInFlight`; a customer's transactions go one after another, so the
 * feature store sees them in time order. Errors are counted by kind, never thrown.
 */
export async function runWorld(options: WorldRunOptions): Promise<WorldRunResult> {
  const { clock, timer, send, outcomes, startMs, endMs } = options;
  const recs = options.recs ?? null;
  const fraud = options.fraud ?? null;
  const maxInFlight = options.maxInFlight ?? 256;
  const catchUp = options.catchUpFactor ?? 3;
  if (!(catchUp > 1)) throw new RangeError(`catchUpFactor must be > 1, got ${catchUp}`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const log = options.log ?? (() => undefined);
  const counters = options.counters ?? new WorldCounters();
  const agenda = new Agenda<Action>();
  const activeDrifts: string[] = [];
  const asked: AskedRates = { recommend: recs ? realRate(recs.sessionsPerDay, clock.speed) : 0, score: fraud ? realRate(fraud.perDay.transactions, clock.speed) : 0 };

  const firstSession = recs?.nextSession(startMs);
  if (firstSession) agenda.add(firstSession.at, { kind: "session", session: firstSession });
  const firstTx = fraud?.next();
  if (firstTx) agenda.add(firstTx.timeMs, { kind: "transaction", tx: firstTx });
  for (const drift of options.drifts ?? []) agenda.add(drift.at, { kind: "drift", drift });

  let inFlight = 0;
  let wake: (() => void) | null = null;
  const pending = new Set<Promise<void>>();
  const customerChains = new Map<string, Promise<void>>();

  const request = async (endpoint: Endpoint, body: object): Promise<WorldResponse | null> => {
    counters.sent[endpoint]++;
    const controller = new AbortController();
    const cancel = timer.setTimer(timeoutMs, () => controller.abort());
    const t0 = timer.now();
    try {
      const res = await send(endpoint, body, controller.signal);
      counters.latency[endpoint].record(timer.now() - t0);
      if (res.status >= 200 && res.status < 300) {
        counters.ok[endpoint]++;
        return res;
      }
      const error = (res.body as { error?: { message?: string } } | undefined)?.error;
      counters.error(endpoint, res.status, error?.message);
      return null;
    } catch (error) {
      counters.error(endpoint, controller.signal.aborted ? "timeout" : "network", (error as Error).message);
      return null;
    } finally {
      cancel();
    }
  };

  const track = (work: Promise<void>): void => {
    inFlight++;
    const done = work
      .catch((error: Error) => log(`world: unexpected error: ${error.stack ?? error.message}`))
      .finally(() => {
        inFlight--;
        pending.delete(done);
        wake?.();
      });
    pending.add(done);
  };

  const publish = (event: Parameters<EventPublisher["publish"]>[0]) => {
    outcomes.publish(event);
    counters.outcomes++;
  };

  const onSession = async (session: Session): Promise<void> => {
    const res = await request("recommend", (recs as RecsUsers).request(session));
    if (!res) return;
    const answer = res.body as RecommendationsResponse;
    const { outcome, clicks } = (recs as RecsUsers).react(session, answer, activeDrifts);
    const r = counters.recs;
    r.answers++;
    r.impressions += outcome.items.length;
    for (const item of outcome.items) {
      if (item.examined) r.examined++;
      if (item.relevance === null) r.unknownItems++;
    }
    r.clicks += clicks.length;
    if (answer.fallback) {
      r.fallbacks++;
      counters.fallbacks.set(answer.fallback, (counters.fallbacks.get(answer.fallback) ?? 0) + 1);
    }
    if (outcome.idealDcg !== null) {
      r.dcg += servedDcg(outcome.items);
      r.idealDcg += outcome.idealDcg;
      r.idealAnswers++;
    }
    publish(makeEvent("world.recs-outcome", outcome, { producer: "world", eventTime: new Date(session.at).toISOString() }));
    for (const click of clicks) agenda.add(click.at, { kind: "click", click });
  };

  const onTransaction = async (tx: WorldTransaction): Promise<void> => {
    const res = await request("score", (fraud as CardHolders).scoreRequest(tx));
    if (!res) return;
    const answer = res.body as ScoreTransactionResponse;
    const { outcome, label } = (fraud as CardHolders).decide(tx, answer, activeDrifts);
    const f = counters.fraud;
    f.answers++;
    if (tx.fraud) f.frauds++;
    if (tx.fraud && answer.decision !== "approve") f.caught++;
    if (answer.decision === "decline") f.declined++;
    if (answer.decision === "review") f.reviewed++;
    if (!tx.fraud && answer.decision === "decline") f.legitDeclined++;
    if (answer.degraded) f.degraded++;
    if (label) f.labelsPlanned++;
    else f.labelsWithheld++;
    publish(makeEvent("world.fraud-outcome", outcome, { producer: "world", eventTime: outcome.time }));
    if (label) agenda.add(label.at, { kind: "label", body: label.body });
  };

  const dispatch = (action: Action): void => {
    switch (action.kind) {
      case "session": {
        const next = (recs as RecsUsers).nextSession(action.session.at);
        if (next) agenda.add(next.at, { kind: "session", session: next });
        track(onSession(action.session));
        return;
      }
      case "transaction": {
        const next = (fraud as CardHolders).next();
        if (next) agenda.add(next.timeMs, { kind: "transaction", tx: next });
        // One customer's transactions reach the feature store in time order, as the history's did.
        const key = action.tx.customerId;
        const run = (customerChains.get(key) ?? Promise.resolve()).then(() => onTransaction(action.tx));
        const chain = run.catch(() => undefined);
        customerChains.set(key, chain);
        void chain.then(() => {
          if (customerChains.get(key) === chain) customerChains.delete(key);
        });
        track(run);
        return;
      }
      case "click":
        track(request("click", action.click.body).then(() => undefined));
        return;
      case "label":
        track(request("label", action.body).then(() => undefined));
        return;
      case "drift": {
        const name = driftName(action.drift);
        activeDrifts.push(name);
        counters.drifts.push(name);
        const d = action.drift;
        const what = d.kind === "preference-shift" || d.kind === "new-items" ? (recs ? recs.applyDrift(d) : "no recommendation traffic: nothing changed") : "fraud pattern in the transaction stream from now on";
        log(`world: drift ${name} (${driftDesign(d)}): ${what}`);
        return;
      }
    }
  };

  const realStart = timer.now();
  const stopAtReal = options.maxRealMs === undefined ? Number.POSITIVE_INFINITY : realStart + options.maxRealMs;
  const behindAtStart = timer.now() - realTimeOf(clock, startMs);
  if (behindAtStart > 1000) log(`world: the shared clock is ${((behindAtStart * clock.speed) / 3_600_000).toFixed(1)} world hours past the world's start: catching up at up to ${catchUp}x the world's rates`);
  // The last dispatch, in real time and in the schedule's real time: behind schedule, actions are
  // spaced by their schedule's gaps divided by the catch-up factor.
  let paceReal = Number.NEGATIVE_INFINITY;
  let paceDue = Number.NEGATIVE_INFINITY;
  let lastSnap: ProgressSnapshot = snapshot(counters, realStart);
  let nextProgress = options.progress ? realStart + options.progress.everyMs : Number.POSITIVE_INFINITY;
  let worldToMs = startMs;

  for (;;) {
    const now = timer.now();
    if (options.signal?.aborted || now >= stopAtReal) break;
    if (now >= nextProgress && options.progress) {
      const snap = snapshot(counters, now);
      options.progress.write(progressLine(counters, clock.now(), asked, lastSnap, snap, inFlight));
      lastSnap = snap;
      nextProgress = now + options.progress.everyMs;
    }
    const next = agenda.peek();
    if (next === undefined || next.at >= endMs) {
      // Nothing left to do before the end: wait for the clock to reach it (or the real-time limit).
      const until = Math.min(realTimeOf(clock, endMs), stopAtReal);
      if (now >= until) break;
      await sleep(timer, Math.min(MAX_NAP_MS, until - now, Math.max(0, nextProgress - now)));
      continue;
    }
    const scheduled = realTimeOf(clock, next.at);
    const due = paceReal === Number.NEGATIVE_INFINITY ? scheduled : Math.max(scheduled, paceReal + (scheduled - paceDue) / catchUp);
    if (due > now) {
      counters.behindMs = Math.max(0, now - scheduled);
      await sleep(timer, Math.min(MAX_NAP_MS, due - now, Math.max(0, nextProgress - now)));
      continue;
    }
    counters.behindMs = now - scheduled;
    if (counters.behindMs > counters.maxBehindMs) counters.maxBehindMs = counters.behindMs;
    if (inFlight >= maxInFlight) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
      continue;
    }
    agenda.pop();
    paceReal = now;
    paceDue = scheduled;
    worldToMs = next.at;
    dispatch(next.item);
  }
  await Promise.all([...pending]);
  const realMs = timer.now() - realStart;
  const worldEnd = Math.max(worldToMs, Math.min(endMs, clock.now()));
  return { counters, realMs, worldToMs: worldEnd, asked, summary: renderSummary(counters, { realMs, worldFromMs: startMs, worldToMs: worldEnd, asked }) };
}
