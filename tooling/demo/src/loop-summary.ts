import type { RetrainDecisionPayload, RolloutDecisionPayload } from "@mlsd/contracts";

/**
 * The loop as the demo left it: what the retrain controller decided (trigger, candidate against the
 * model in service on the same rows) and where each candidate's rollout stands, one line each.
 */
export async function loopSummary(retrainUrl: string, rolloutUrl: string): Promise<string> {
  const lines: string[] = [];
  try {
    const history = (await (await fetch(`${retrainUrl}/v1/history`, { signal: AbortSignal.timeout(5000) })).json()) as { decisions: RetrainDecisionPayload[]; running: string[]; queued: string[] };
    if (history.decisions.length === 0) lines.push("retrain controller: no retrain yet (no drift alarm reached it)");
    for (const d of history.decisions) {
      const metric = d.metric && d.candidateMetric !== null ? `, ${d.metric} ${d.candidateMetric.toFixed(4)} vs ${d.baselineMetric?.toFixed(4) ?? "-"} in service` : "";
      lines.push(`retrain ${d.model} (${d.trigger}): ${d.decision}${d.candidateVersion ? ` candidate ${d.candidateVersion}` : ""}${metric}`);
    }
    for (const r of history.running) lines.push(`retrain running: ${r}`);
  } catch (error) {
    lines.push(`retrain controller did not answer: ${(error as Error).message}`);
  }
  try {
    const rollouts = (await (await fetch(`${rolloutUrl}/v1/rollouts`, { signal: AbortSignal.timeout(5000) })).json()) as {
      running: { model: string; candidateVersion: string; stage: string; decisions: RolloutDecisionPayload[] }[];
      finished: { model: string; candidateVersion: string; status: string; decisions: RolloutDecisionPayload[] }[];
    };
    for (const r of rollouts.running) lines.push(`rollout ${r.model} ${r.candidateVersion}: running, stage ${r.stage} (${r.decisions.length} decisions so far)`);
    for (const r of rollouts.finished) lines.push(`rollout ${r.model} ${r.candidateVersion}: ${r.status} (${r.decisions.at(-1)?.reasons[0] ?? ""})`);
    if (rollouts.running.length + rollouts.finished.length === 0) lines.push("rollout controller: no rollout yet");
  } catch (error) {
    lines.push(`rollout controller did not answer: ${(error as Error).message}`);
  }
  return lines.join("\n");
}
