import { TOPICS } from "@mlsd/contracts";
import type { ClickEvent, FeatureVector, FraudDecision, FraudDecisionEvent, ImpressionEvent, LabelEvent, ModelVersions, ServedEvent } from "@mlsd/contracts";
import { invalidInput } from "./errors";
import { toEpochMs } from "./layout";
import type { OfflineStoreReader, TimeInput } from "./reader";

/**
 * Point-in-time joins for training: each row carries the features exactly as they were served at
 * the event's time (copied from the decision / served event, never recomputed), and a label only
 * if it was known at the as-of time, so a model trained "as of" a date sees what it would have
 * seen then and no label from its future.
 */

export interface LabelledDecision {
  transactionId: string;
  customerId: string;
  terminalId: string;
  eventTime: string;
  eventTimeMs: number;
  /** The vector the model scored (null = missing), as served. */
  features: FeatureVector;
  score: number;
  decision: FraudDecision;
  decidedBy: "rules" | "model" | "fallback";
  modelVersion: string;
  /** 1 fraud (confirmed or chargeback), 0 legitimate, null when nothing was known at the as-of time. */
  label: 0 | 1 | null;
  /** When the label used became known; null for no label or an assumed-legitimate one. */
  labelKnownAt: string | null;
  /** True when `label` is 0 only because no fraud label arrived within `assumeLegitimateAfterMs`. */
  labelAssumed: boolean;
}

export interface DecisionJoinOptions {
  asOf: TimeInput;
  /**
   * Fraud labels arrive late and legitimate transactions usually get none: a decision older than
   * this at the as-of time with no known label is labelled 0 (flagged `labelAssumed`). Unset: null.
   */
  assumeLegitimateAfterMs?: number;
}

function latestKnownLabels(labels: Iterable<LabelEvent>, asOfMs: number): Map<string, { value: 0 | 1; knownAtMs: number; knownAt: string }> {
  const known = new Map<string, { value: 0 | 1; knownAtMs: number; knownAt: string }>();
  for (const label of labels) {
    const knownAtMs = Date.parse(label.payload.knownAt);
    if (!(knownAtMs <= asOfMs)) continue;
    const previous = known.get(label.payload.transactionId);
    // A later verdict overrides an earlier one (e.g. a chargeback after an initial "legitimate").
    if (previous !== undefined && previous.knownAtMs > knownAtMs) continue;
    known.set(label.payload.transactionId, {
      value: label.payload.label === "legitimate" ? 0 : 1,
      knownAtMs,
      knownAt: label.payload.knownAt,
    });
  }
  return known;
}

/** Joins decisions to the labels known at `asOf` (by transaction id); decisions keep their order. */
export function joinDecisionsWithLabels(
  decisions: Iterable<FraudDecisionEvent>,
  labels: Iterable<LabelEvent>,
  options: DecisionJoinOptions,
): LabelledDecision[] {
  const asOfMs = toEpochMs(options.asOf, "asOf");
  const horizon = options.assumeLegitimateAfterMs;
  if (horizon !== undefined && !(horizon >= 0)) throw invalidInput("assumeLegitimateAfterMs", `must be >= 0, got ${horizon}`);
  const known = latestKnownLabels(labels, asOfMs);
  const rows: LabelledDecision[] = [];
  for (const decision of decisions) {
    const p = decision.payload;
    const eventTimeMs = Date.parse(decision.eventTime);
    // A decision from after the as-of time did not exist yet.
    if (eventTimeMs > asOfMs) continue;
    const label = known.get(p.transactionId);
    const assumed = label === undefined && horizon !== undefined && eventTimeMs + horizon <= asOfMs;
    rows.push({
      transactionId: p.transactionId,
      customerId: p.customerId,
      terminalId: p.terminalId,
      eventTime: decision.eventTime,
      eventTimeMs,
      features: p.features,
      score: p.score,
      decision: p.decision,
      decidedBy: p.decidedBy,
      modelVersion: p.modelVersion,
      label: label?.value ?? (assumed ? 0 : null),
      labelKnownAt: label?.knownAt ?? null,
      labelAssumed: assumed,
    });
  }
  return rows;
}

export interface StoreDecisionJoinOptions extends DecisionJoinOptions {
  /** Decisions with from <= eventTime < to. */
  from: TimeInput;
  to: TimeInput;
}

/** Reads decisions in [from, to) and the labels known by `asOf` from the store, then joins them. */
export async function readLabelledDecisions(reader: OfflineStoreReader, options: StoreDecisionJoinOptions): Promise<LabelledDecision[]> {
  const from = toEpochMs(options.from, "from");
  const to = toEpochMs(options.to, "to");
  const asOf = toEpochMs(options.asOf, "asOf");
  const decisions: FraudDecisionEvent[] = [];
  for await (const e of reader.eventsOfType(TOPICS.fraudDecisions, "fraud.decision", { from, to })) decisions.push(e);
  // A label's event time is when it became known (or, from other producers, the transaction's
  // time): either way it lies in [from, max(to, asOf)] for the decisions read.
  const labels: LabelEvent[] = [];
  for await (const e of reader.eventsOfType(TOPICS.fraudLabels, "fraud.label", { from, to: Math.max(to, asOf) + 1 })) labels.push(e);
  return joinDecisionsWithLabels(decisions, labels, options);
}

export interface LabelledImpression {
  requestId: string;
  userId: string;
  itemId: string;
  position: number;
  eventTime: string;
  eventTimeMs: number;
  modelVersions: ModelVersions;
  /** From the recs.served event of the same request; null when it is not in the store. */
  userFeatures: FeatureVector | null;
  itemFeatures: FeatureVector | null;
  score: number | null;
  /** 1 when a click on this item in this request was seen within the attribution window by asOf. */
  clicked: 0 | 1;
  clickedAt: string | null;
}

export interface ImpressionJoinOptions {
  asOf: TimeInput;
  /** A click counts for an impression only within this long after it. Default 30 minutes. */
  attributionWindowMs?: number;
}

/** Joins impressions to the served features of their request and to the clicks seen by `asOf`. */
export function joinImpressionsWithClicks(
  impressions: Iterable<ImpressionEvent>,
  served: Iterable<ServedEvent>,
  clicks: Iterable<ClickEvent>,
  options: ImpressionJoinOptions,
): LabelledImpression[] {
  const asOfMs = toEpochMs(options.asOf, "asOf");
  const window = options.attributionWindowMs ?? 30 * 60_000;
  if (!(window >= 0)) throw invalidInput("attributionWindowMs", `must be >= 0, got ${window}`);
  const servedByRequest = new Map<string, ServedEvent>();
  for (const s of served) servedByRequest.set(s.payload.requestId, s);
  const clickTimes = new Map<string, { ms: number; at: string }[]>();
  for (const c of clicks) {
    const ms = Date.parse(c.eventTime);
    if (!(ms <= asOfMs)) continue;
    const key = `${c.payload.requestId}\u0000${c.payload.itemId}`;
    const list = clickTimes.get(key) ?? [];
    list.push({ ms, at: c.eventTime });
    clickTimes.set(key, list);
  }
  const rows: LabelledImpression[] = [];
  for (const impression of impressions) {
    const p = impression.payload;
    const eventTimeMs = Date.parse(impression.eventTime);
    if (eventTimeMs > asOfMs) continue;
    const request = servedByRequest.get(p.requestId);
    const item = request?.payload.items.find((i) => i.itemId === p.itemId);
    const click = (clickTimes.get(`${p.requestId}\u0000${p.itemId}`) ?? [])
      .filter((c) => c.ms >= eventTimeMs && c.ms <= eventTimeMs + window)
      .sort((a, b) => a.ms - b.ms)[0];
    rows.push({
      requestId: p.requestId,
      userId: p.userId,
      itemId: p.itemId,
      position: p.position,
      eventTime: impression.eventTime,
      eventTimeMs,
      modelVersions: p.modelVersions,
      userFeatures: request?.payload.userFeatures ?? null,
      itemFeatures: item?.features ?? null,
      score: item?.score ?? null,
      clicked: click ? 1 : 0,
      clickedAt: click?.at ?? null,
    });
  }
  return rows;
}

export interface StoreImpressionJoinOptions extends ImpressionJoinOptions {
  from: TimeInput;
  to: TimeInput;
}

/** Reads impressions in [from, to), their requests' served events and the clicks up to asOf, then joins them. */
export async function readLabelledImpressions(reader: OfflineStoreReader, options: StoreImpressionJoinOptions): Promise<LabelledImpression[]> {
  const from = toEpochMs(options.from, "from");
  const to = toEpochMs(options.to, "to");
  const asOf = toEpochMs(options.asOf, "asOf");
  const window = options.attributionWindowMs ?? 30 * 60_000;
  const impressions: ImpressionEvent[] = [];
  for await (const e of reader.eventsOfType(TOPICS.recsImpressions, "recs.impression", { from, to })) impressions.push(e);
  const served: ServedEvent[] = [];
  // The served event is published with the impressions of its response; a minute of slack covers clock skew.
  for await (const e of reader.eventsOfType(TOPICS.recsServed, "recs.served", { from: from - 60_000, to: to + 60_000 })) served.push(e);
  const clicks: ClickEvent[] = [];
  for await (const e of reader.eventsOfType(TOPICS.recsClicks, "recs.click", { from, to: Math.max(from, Math.min(to + window, asOf + 1)) })) clicks.push(e);
  return joinImpressionsWithClicks(impressions, served, clicks, options);
}
