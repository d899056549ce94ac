import path from "node:path";
import { systemClock, type Clock } from "@mlsd/loadgen";
import { parseWorldArgs, USAGE, WorldArgsError } from "./args";
import { CalendarError } from "./calendar";
import { worldEnv } from "./config";
import { DriftSpecError } from "./drift";
import { discardOutcomes, kafkaOutcomes, type OutcomeSink } from "./outcomes";
import { describePlan, planWorld } from "./plan";
import { WorldCounters } from "./counters";
import { startWorldMonitoring } from "./monitoring";
import { httpTransport } from "./transport";
import { runWorld } from "./world";

const say = (line: string) => process.stdout.write(`${line}\n`);
/** Real time the skew check stays behind the clock: the event logger's lag behind Kafka on a busy machine. */
const SKEW_SETTLE_REAL_MS = 5_000;
/** Real time in epoch ms: the services' clocks count from it. */
const epochTimer: Clock = { now: () => Date.now(), setTimer: systemClock.setTimer };

async function main(): Promise<number> {
  const env = worldEnv();
  const settings = parseWorldArgs(process.argv.slice(2), env);
  if (settings.help) {
    say(USAGE);
    return 0;
  }
  // `npm run -w` runs in the package folder; relative paths are meant from where npm was started.
  // eslint-disable-next-line no-restricted-properties
  const cwd = process.env.INIT_CWD ?? process.cwd();
  if (settings.registryDir) settings.registryDir = path.resolve(cwd, settings.registryDir);
  settings.journalDir = path.resolve(cwd, settings.journalDir);
  if (settings.offlineStoreDir) settings.offlineStoreDir = path.resolve(cwd, settings.offlineStoreDir);

  const plan = planWorld(settings);
  for (const line of describePlan(plan, settings)) say(line);
  if (settings.printCalendar) return 0;
  if (!plan.recs && !plan.fraud) throw new WorldArgsError("give --recommender and/or --fraud");
  if (plan.recs && !settings.clickToken) say("world: no --click-token: clicks will be refused (403)");
  if (plan.fraud && !settings.labelToken) say("world: no --label-token: labels will be refused (403)");

  const outcomes: OutcomeSink = settings.kafkaBrokers.length > 0 ? await kafkaOutcomes(settings.kafkaBrokers, settings.journalDir, say) : discardOutcomes;
  const transport = httpTransport({ recommenderUrl: settings.recommenderUrl, fraudUrl: settings.fraudUrl, clickToken: settings.clickToken, labelToken: settings.labelToken }, settings.maxInFlight);
  const counters = new WorldCounters();
  const skew =
    plan.specs.recs && settings.offlineStoreDir && settings.skewEveryMs > 0
      ? { offlineStoreDir: settings.offlineStoreDir, spec: plan.specs.recs, everyMs: settings.skewEveryMs, sampleRate: settings.skewSample, maxAnswers: settings.skewMaxAnswers, settleMs: SKEW_SETTLE_REAL_MS * plan.clock.speed }
      : null;
  if (plan.recs && !skew) say(`world: no recs skew check (${settings.skewEveryMs > 0 ? "give --offline-store, the event logger's" : "--skew-every 0"})`);
  const monitoring = await startWorldMonitoring({ port: settings.metricsPort, counters: () => counters, skew, worldNow: () => plan.clock.now(), timer: epochTimer, log: say });
  if (monitoring.server) say(`world: metrics at ${monitoring.server.url}${skew ? `; recs skew check every ${settings.skewEveryMs / 1000} s on ${skew.offlineStoreDir} (sample ${skew.sampleRate}, at most ${skew.maxAnswers} answers a check)` : ""}`);
  const stop = new AbortController();
  let signals = 0;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (++signals > 1) process.exit(130);
      say(`world: ${signal}: stopping (waiting for the requests in flight; again to quit at once)`);
      stop.abort();
    });
  }
  try {
    const result = await runWorld({
      clock: plan.clock,
      timer: epochTimer,
      send: transport.send,
      outcomes: outcomes.publisher,
      recs: plan.recs,
      fraud: plan.fraud,
      drifts: plan.drifts,
      startMs: plan.startMs,
      endMs: plan.endMs,
      maxRealMs: settings.durationMs,
      maxInFlight: settings.maxInFlight,
      catchUpFactor: settings.catchUpFactor,
      timeoutMs: settings.timeoutMs,
      signal: stop.signal,
      progress: settings.progressEveryMs > 0 ? { everyMs: settings.progressEveryMs, write: say } : null,
      log: say,
      counters,
    });
    const skewLine = await monitoring.finish();
    say("");
    say(result.summary);
    if (skewLine) say(skewLine);
  } finally {
    transport.close();
    say(await outcomes.close());
    await monitoring.close();
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof WorldArgsError || error instanceof CalendarError || error instanceof DriftSpecError || error instanceof RangeError;
    process.stderr.write(`world: ${known ? (error as Error).message : error instanceof Error ? error.stack : String(error)}\n`);
    if (error instanceof WorldArgsError) process.stderr.write(`\n${USAGE}`);
    process.exit(2);
  },
);
