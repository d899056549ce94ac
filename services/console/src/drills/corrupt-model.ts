import fs from "node:fs";
import { openModelRegistry } from "@mlsd/model-formats/compatibility";
import { loadDriftReference } from "@mlsd/model-formats/drift-reference";
import { FRAUD_MODEL_FILE, FRAUD_MODEL_NAME, loadFraudModel, publishFraudModel } from "@mlsd/model-formats/fraud";
import type { Drill, DrillContext, DrillOptions } from "./drill";
import { sleep } from "./drill";
import { Prober } from "./probe";
import { statsByPhase, type DrillReport, type Expectation } from "./report";

interface ArmsLike {
  current: { version: string } | null;
  challenger: { version: string; mode: string } | null;
}

/** The two ways an artifact goes bad on its way to a service: a changed byte, a cut-off file. */
const DAMAGES = [
  { name: "one byte changed", damage: (file: string) => flipByte(file) },
  { name: "truncated to half", damage: (file: string) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2)) },
] as const;

/** Changes one digit in the middle of the file: the JSON still parses, only the checksum can tell. */
function flipByte(file: string): void {
  const bytes = fs.readFileSync(file);
  for (let i = Math.floor(bytes.length / 2); i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c >= 0x30 && c <= 0x39) {
      bytes[i] = c === 0x39 ? 0x30 : c + 1;
      fs.writeFileSync(file, bytes);
      return;
    }
  }
  throw new Error(`${file}: no digit to change`);
}

/** `fraud_model_load_failures_total` by reason, from the fraud service's /metrics. */
async function loadFailures(fraudUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${fraudUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith("fraud_model_load_failures_total{")) continue;
    const reason = /reason="([^"]*)"/.exec(line)?.[1] ?? "?";
    out[reason] = (out[reason] ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return out;
}

async function armsOf(fraudUrl: string): Promise<ArmsLike> {
  return (await (await fetch(`${fraudUrl}/v1/model/arms`, { signal: AbortSignal.timeout(5_000) })).json()) as ArmsLike;
}

/**
 * Corrupt artifacts pushed at a serving model: copies of the model in service are published to the
 * registry, then damaged on disk (one byte changed, the file truncated), and the fraud service is
 * told to load each as its challenger (PUT /v1/model/arms, shadow). Each must be refused with the
 * checksum named, counted in the service's load-failure metric, while the model in service goes on
 * answering. The damaged files get their bytes back when the drill ends.
 */
export const corruptModel: Drill = {
  name: "corrupt-model",
  description:
    "Copies of the fraud model in service are published, then damaged on disk (one byte changed, the file truncated to half) and pushed to the fraud service as its challenger. Probe transactions measure the answers meanwhile.",
  expectations: () => [
    `each damaged model (${DAMAGES.map((d) => d.name).join(", ")}) is refused with 409, the reason naming the checksum`,
    "each refusal is counted in fraud_model_load_failures_total{reason=\"corrupt\"}",
    "fraud answers >= 99 % of transactions throughout, from the model in service",
    "afterwards the model in service is the one from before, with no challenger",
  ],
  unavailable: (ctx) => (ctx.registryDir === null ? "set MODEL_REGISTRY_DIR (the fraud service's registry) to run corrupt-model" : !ctx.urls.has("fraud") ? "needs fraud in SERVICE_URLS" : null),
  async run(ctx: DrillContext, options: DrillOptions): Promise<DrillReport> {
    const startedAt = new Date().toISOString();
    const fraudUrl = ctx.urls.get("fraud") as string;
    const auth = { authorization: `Bearer ${ctx.adminToken}`, "content-type": "application/json" };
    const registry = openModelRegistry(ctx.registryDir as string);
    const served = loadFraudModel(registry, "current");
    const before = await armsOf(fraudUrl);
    const failuresBefore = await loadFailures(fraudUrl);
    const prober = new Prober({ urls: { fraud: fraudUrl }, rate: options.rate, timeoutMs: 5_000, clock: ctx.clock, population: 200 });
    const attempts: { damage: string; version: string; status: number; message: string }[] = [];
    /** The damaged files and their original bytes, put back when the drill ends. */
    const damaged: { file: string; bytes: Buffer }[] = [];
    const fault = { startMs: 0, endMs: null as number | null };
    try {
      prober.start();
      ctx.say(`baseline: ${options.baselineSeconds} s of probe transactions at ${options.rate}/s`);
      await sleep(options.baselineSeconds * 1000);
      prober.phase = "corrupt";
      fault.startMs = prober.elapsed();
      for (const { name, damage } of DAMAGES) {
        const version = `drill-corrupt-${name.replace(/\W+/g, "-")}-${Date.now().toString(36)}`;
        const model = await publishFraudModel(registry, {
          gbdt: served.gbdt,
          thresholds: served.thresholds,
          driftReference: loadDriftReference(registry, FRAUD_MODEL_NAME, served.version).reference,
          ...(served.fallback ? { fallback: served.fallback } : {}),
          dataWindow: { drill: "corrupt-model", from: served.version },
          metrics: {},
          version,
          alias: "drill-corrupt",
        });
        const file = model.file(FRAUD_MODEL_FILE);
        damaged.push({ file, bytes: fs.readFileSync(file) });
        damage(file);
        const res = await fetch(`${fraudUrl}/v1/model/arms`, { method: "PUT", headers: auth, body: JSON.stringify({ challenger: version, mode: "shadow" }), signal: AbortSignal.timeout(30_000) });
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        const message = body?.error?.message ?? JSON.stringify(body);
        attempts.push({ damage: name, version, status: res.status, message });
        ctx.say(`${name}: PUT /v1/model/arms -> ${res.status} ${message}`);
        if (res.ok) await fetch(`${fraudUrl}/v1/model/arms`, { method: "DELETE", headers: auth, signal: AbortSignal.timeout(10_000) }).catch(() => null);
        await sleep((options.faultSeconds * 1000) / DAMAGES.length);
      }
      fault.endMs = prober.elapsed();
      prober.phase = "after";
      await sleep(options.afterSeconds * 1000);
    } finally {
      await prober.stop();
      for (const { file, bytes } of damaged) fs.writeFileSync(file, bytes);
    }
    const failuresAfter = await loadFailures(fraudUrl);
    const after = await armsOf(fraudUrl);
    const corruptCounted = (failuresAfter.corrupt ?? 0) - (failuresBefore.corrupt ?? 0);
    const phases = statsByPhase(prober.results);
    const all = prober.results.filter((r) => r.target === "fraud");
    const availability = all.length === 0 ? null : all.filter((r) => r.ok).length / all.length;
    const fromModel = all.filter((r) => r.ok && r.outcome === "model").length;
    const texts = this.expectations(options);
    const expectations: Expectation[] = [
      {
        text: texts[0] as string,
        pass: attempts.length === DAMAGES.length && attempts.every((a) => a.status === 409 && /checksum|missing|corrupt/i.test(a.message)),
        observed: attempts.map((a) => `${a.damage}: ${a.status} ${a.message}`).join("; "),
      },
      { text: texts[1] as string, pass: corruptCounted === DAMAGES.length, observed: `${corruptCounted} counted (reason corrupt)` },
      {
        text: texts[2] as string,
        pass: availability === null ? null : availability >= 0.99,
        observed: availability === null ? "no answers" : `${(availability * 100).toFixed(1)} % answered, ${fromModel} of ${all.length} by the model (the rest degraded or fallback)`,
      },
      {
        text: texts[3] as string,
        pass: after.current?.version === before.current?.version && after.challenger === null,
        observed: `in service ${after.current?.version ?? "none"} (before ${before.current?.version ?? "none"}), challenger ${after.challenger?.version ?? "none"}`,
      },
    ];
    return {
      drill: "corrupt-model",
      description: this.description,
      startedAt,
      finishedAt: new Date().toISOString(),
      settings: { "fault s": options.faultSeconds, "baseline s": options.baselineSeconds, "after s": options.afterSeconds, "probe rate /s": options.rate, "copied from": served.version },
      fault,
      // A refusal is immediate: the time to detect is the load attempt itself, and nothing needs recovering.
      timeToDetectMs: null,
      timeToRecoverMs: null,
      phases,
      expectations,
      pass: expectations.every((e) => e.pass === true),
      notes: [
        "Each damaged copy is published with valid checksums and damaged after, as a disk or a copy would; the service verifies every file's sha256 against the manifest before it parses anything.",
        "The damaged files get their original bytes back when the drill ends: the versions stay in the registry as intact copies of the model in service, under the alias drill-corrupt.",
      ],
    };
  },
};
