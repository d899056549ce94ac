import type { RolloutDecisionPayload } from "@mlsd/contracts";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { loadDriftReference } from "@mlsd/model-formats/drift-reference";
import { FRAUD_MODEL_NAME, loadFraudModel, publishFraudModel } from "@mlsd/model-formats/fraud";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep, waitUntil } from "./drill";
import { Prober, type ProbeResult } from "./probe";
import { statsByPhase, type DrillReport, type Expectation } from "./report";

interface RolloutLike {
  status: string;
  stage: string;
  candidateVersion: string;
  currentVersion: string;
  startedAt: number;
  decisions: RolloutDecisionPayload[];
  exposure: { totalRequests: number; totalUnits: number };
}

interface ArmsLike {
  current: { version: string } | null;
  challenger: { version: string; mode: string } | null;
}

async function getJson<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as T };
}

/**
 * A model that declines every transaction is handed to the rollout controller as a candidate.
 * It is the model in service with both thresholds at 0 (every score declines), published under
 * its own version. The probe transactions are small purchases, each labelled legitimate once
 * answered, so the controller's cost per labelled transaction sees the candidate's friction.
 */
export const badModel: Drill = {
  name: "bad-model",
  description:
    "A fraud model that declines everything (the model in service with thresholds 0/0) starts a rollout through the rollout controller (POST /v1/rollouts). Probe transactions, labelled legitimate, give the online evaluation its evidence.",
  expectations: (o) => [
    "the rollout controller accepts the candidate (201) and exposes it in shadow first",
    `the rollout is rolled back within ${o.faultSeconds} s`,
    "no customer is answered by the candidate (the challenger arm answers 0 requests)",
    "fraud answers >= 99 % of transactions throughout",
    "afterwards the model in service is the one from before, with no challenger",
  ],
  unavailable: (ctx) =>
    ctx.registryDir === null ? "set MODEL_REGISTRY_DIR (the rollout controller's registry) to run bad-model" : !ctx.urls.has("fraud") || !ctx.urls.has("rollout-controller") ? "needs fraud and rollout-controller in SERVICE_URLS" : null,
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const fraudUrl = ctx.urls.get("fraud") as string;
    const rolloutUrl = ctx.urls.get("rollout-controller") as string;
    const auth = { authorization: `Bearer ${ctx.adminToken}`, "content-type": "application/json" };
    const registry = openModelRegistry(ctx.registryDir as string);
    const served = loadFraudModel(registry, "current");
    const version = `drill-declines-all-${Date.now().toString(36)}`;
    await publishFraudModel(registry, {
      gbdt: served.gbdt,
      thresholds: { review: 0, decline: 0 },
      driftReference: loadDriftReference(registry, FRAUD_MODEL_NAME, served.version).reference,
      ...(served.fallback ? { fallback: served.fallback } : {}),
      dataWindow: { drill: "bad-model", from: served.version },
      metrics: {},
      version,
      alias: "drill-bad",
    });
    ctx.say(`published ${FRAUD_MODEL_NAME}@${version}: ${served.version} with thresholds 0/0 (declines every transaction)`);

    const armAnswers = async () => {
      const text = await (await fetch(`${fraudUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      const line = text.split("\n").find((l) => l.startsWith("fraud_model_arm_answers_total{") && l.includes('arm="challenger"'));
      return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
    };
    const labels: Promise<unknown>[] = [];
    const label = (r: ProbeResult) => {
      if (!r.transaction) return;
      const body = { transactionId: r.transaction.transactionId, customerId: r.transaction.customerId, terminalId: r.transaction.terminalId, label: "legitimate", transactionTime: r.transaction.time };
      labels.push(fetch(`${fraudUrl}/v1/labels`, { method: "POST", headers: auth, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) }).catch(() => null));
    };
    const prober = new Prober({ urls: { fraud: fraudUrl }, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200, onTransaction: label });
    const armsBefore = (await getJson<ArmsLike>(`${fraudUrl}/v1/model/arms`)).body;
    const challengerBefore = await armAnswers();
    const fault = { startMs: 0, endMs: null as number | null };
    let started: { status: number; body: RolloutLike | { error: { message: string } } };
    let finished: RolloutLike | null = null;
    let firstStage: string | null = null;
    try {
      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of labelled probe transactions at ${options.rate}/s`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "rollout";
      fault.startMs = prober.elapsed();
      started = await getJson(`${rolloutUrl}/v1/rollouts`, { method: "POST", headers: auth, body: JSON.stringify({ model: FRAUD_MODEL_NAME, candidate: version, reason: "drill bad-model: a candidate that declines everything", actor: "console-drill" }) });
      if (started.status === 201) {
        firstStage = (started.body as RolloutLike).stage;
        ctx.say(`rollout started in ${firstStage}; waiting up to ${options.faultSeconds} s for the controller's verdict`);
        finished = await waitUntil(async () => {
          const r = await getJson<RolloutLike>(`${rolloutUrl}/v1/rollouts/${FRAUD_MODEL_NAME}`);
          return r.status === 200 && r.body.candidateVersion === version && r.body.status !== "running" ? r.body : null;
        }, options.faultSeconds * 1000, 500);
        fault.endMs = prober.elapsed();
        ctx.say(finished ? `rollout ${finished.status}` : "no verdict in time: aborting the rollout");
        if (!finished) await getJson(`${rolloutUrl}/v1/rollouts/${FRAUD_MODEL_NAME}/abort`, { method: "POST", headers: auth, body: JSON.stringify({ reason: "drill bad-model: no verdict within the drill's time" }) }).catch(() => null);
      } else {
        ctx.say(`the rollout controller answered ${started.status}: ${JSON.stringify(started.body)}`);
        fault.endMs = prober.elapsed();
      }
      prober.phase = "after";
      await sleep(options.afterSeconds * 1000);
    } finally {
      await prober.stop();
      await Promise.all(labels);
    }
    const challengerAnswers = (await armAnswers()) - challengerBefore;
    const armsAfter = (await getJson<ArmsLike>(`${fraudUrl}/v1/model/arms`)).body;
    const phases = statsByPhase(prober.results);
    const all = prober.results.filter((r) => r.target === "fraud");
    const availability = all.length === 0 ? null : all.filter((r) => r.ok).length / all.length;
    const texts = this.expectations(options);
    const rolledBack = finished?.status === "rolled-back";
    const detectMs = rolledBack && fault.endMs !== null ? fault.endMs - fault.startMs : null;
    const expectations: Expectation[] = [
      { text: texts[0] as string, pass: started.status === 201 && firstStage === "shadow", observed: started.status === 201 ? `201, first stage ${firstStage}` : `${started.status}` },
      { text: texts[1] as string, pass: rolledBack, observed: finished ? `${finished.status} after ${detectMs === null ? "?" : (detectMs / 1000).toFixed(1)} s, ${finished.decisions.at(-1)?.reasons?.join("; ") ?? ""}` : "no verdict in time (aborted)" },
      { text: texts[2] as string, pass: challengerAnswers === 0, observed: `${challengerAnswers} answers from the challenger arm` },
      { text: texts[3] as string, pass: availability === null ? null : availability >= 0.99, observed: availability === null ? "no answers" : `${(availability * 100).toFixed(1)} %` },
      {
        text: texts[4] as string,
        pass: armsAfter.current?.version === armsBefore.current?.version && armsAfter.challenger === null,
        observed: `in service ${armsAfter.current?.version ?? "none"} (before ${armsBefore.current?.version ?? "none"}), challenger ${armsAfter.challenger?.version ?? "none"}`,
      },
    ];
    return {
      drill: "bad-model",
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: { "verdict within s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s": options.rate, candidate: version },
      fault,
      timeToDetectMs: detectMs,
      timeToRecoverMs: rolledBack ? 0 : null,
      phases,
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        "Time to detect: real time from POST /v1/rollouts until GET /v1/rollouts/fraud-gbdt showed the verdict (polled every 0.5 s). Recovery is immediate on a rollback: the model in service was never replaced.",
        `The probe transactions were labelled legitimate (${prober.results.filter((r) => r.ok).length} labels sent); with the world running, its labels count too.`,
      ],
    };
  },
};
