import { makeEvent, type SubmitLabelRequest } from "@mlsd/contracts";
import { AppError, withDeadline, type FieldIssue } from "@mlsd/service-kit";
import type { ScoringDeps } from "./scoring";

export type LabelOutcome = "accepted" | "unknown-transaction" | "mismatch";

export interface LabelDeps extends Pick<ScoringDeps, "store" | "events" | "timeBounds"> {
  labelCheckDeadlineMs: number;
  onLabel?: (outcome: LabelOutcome) => void;
}

/**
 * `POST /v1/labels`: a label must name a transaction this system scored, with the customer,
 * terminal and time it was scored with (a forged label for a transaction that never happened, or
 * one that names another terminal, would raise that terminal's risk for everyone), and it cannot
 * be known in the future or before the transaction. Accepted labels go to Kafka; the feature
 * streamer applies them to the features, like labels from any other source.
 */
export async function submitLabel(deps: LabelDeps, label: SubmitLabelRequest): Promise<{ accepted: true; eventId: string }> {
  const knownAtMs = deps.timeBounds.check(label.knownAt, "knownAt");
  const found = await withDeadline(deps.labelCheckDeadlineMs, () => deps.store.lookup(label.transactionId));
  if (!found.ok) throw new AppError("UNAVAILABLE", `cannot check transaction ${label.transactionId} now (feature store ${found.reason === "timeout" ? "too slow" : "unavailable"}); retry later`);
  const recorded = found.value;
  if (recorded === null) {
    deps.onLabel?.("unknown-transaction");
    throw new AppError("NOT_FOUND", `transaction ${label.transactionId} was not scored by this system (or its record has expired)`, [{ field: "transactionId", message: "unknown transaction" }]);
  }
  const mismatches: FieldIssue[] = [];
  if (recorded.customerId !== label.customerId) mismatches.push({ field: "customerId", message: "is not the customer the transaction was scored for" });
  if (recorded.terminalId !== label.terminalId) mismatches.push({ field: "terminalId", message: "is not the terminal the transaction was scored at" });
  if (recorded.timeMs !== Date.parse(label.transactionTime)) mismatches.push({ field: "transactionTime", message: `is not the transaction's time (${new Date(recorded.timeMs).toISOString()})` });
  if (knownAtMs < recorded.timeMs) mismatches.push({ field: "knownAt", message: "must not be before the transaction" });
  if (mismatches.length > 0) {
    deps.onLabel?.("mismatch");
    throw new AppError("VALIDATION_FAILED", `invalid label: ${mismatches.map((m) => m.field).join(", ")}`, mismatches);
  }
  const knownAt = new Date(knownAtMs).toISOString();
  const event = makeEvent("fraud.label", { ...label, knownAt }, { producer: "fraud", eventTime: knownAt });
  deps.events.publish(event);
  deps.onLabel?.("accepted");
  return { accepted: true, eventId: event.eventId };
}
