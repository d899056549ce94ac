// Runs a command with one shared Redis and one shared Kafka:
//   tsx packages/testkit/src/with-infra.ts -- turbo run test:integration --concurrency=1
// The servers come from the same resolution as startRedis()/startKafka() (env, Docker, local), the
// child sees REDIS_URL and KAFKA_BROKERS, and everything is stopped when it exits or on Ctrl-C.
import { spawn, type ChildProcess } from "node:child_process";
import { commandAfterSeparator, exitCodeOf } from "./child-command";
import { defaultGuard } from "./process-guard";
import { log, startKafka, startRedis } from "./start";
import type { KafkaHandle, RedisHandle } from "./types";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

async function main(): Promise<number> {
  const command = commandAfterSeparator(process.argv.slice(2));
  const [program, ...args] = command;
  if (!program) {
    process.stderr.write("usage: tsx packages/testkit/src/with-infra.ts -- <command...>\n");
    return 2;
  }

  const run: { child?: ChildProcess; interrupted?: NodeJS.Signals } = {};
  // Installed before the servers start, so Ctrl-C during start-up also ends in an orderly stop.
  const onSignal = (signal: NodeJS.Signals) => {
    const { child } = run;
    if (child && child.exitCode === null && child.signalCode === null) {
      // The second Ctrl-C does not wait for the child any longer.
      child.kill(run.interrupted ? "SIGKILL" : signal);
    }
    run.interrupted = signal;
  };
  for (const s of SIGNALS) process.on(s, onSignal);

  const started = Date.now();
  const results = await Promise.allSettled([startRedis(), startKafka()]);
  const [redisResult, kafkaResult] = results;
  const redis: RedisHandle | undefined = redisResult.status === "fulfilled" ? redisResult.value : undefined;
  const kafka: KafkaHandle | undefined = kafkaResult.status === "fulfilled" ? kafkaResult.value : undefined;
  const stopAll = async () => {
    await Promise.allSettled([redis?.stop(), kafka?.stop()]);
  };
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure || !redis || !kafka) {
    process.stderr.write(`with-infra: could not start the infrastructure: ${String(failure?.reason)}\n`);
    await stopAll();
    return 1;
  }
  log(`with-infra: Redis and Kafka ready in ${Date.now() - started} ms`);
  if (run.interrupted) {
    await stopAll();
    return exitCodeOf(null, run.interrupted);
  }

  const env = { ...process.env, REDIS_URL: redis.url, KAFKA_BROKERS: kafka.brokers.join(",") };
  // The command gets a parent-death signal too: if this runner is killed outright, the tests
  // must not go on against servers that died with it.
  const guard = defaultGuard() === "pdeathsig" ? ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--"] : [];
  const [file, ...rest] = [...guard, program, ...args] as [string, ...string[]];
  const running = spawn(file, rest, { stdio: "inherit", env });
  run.child = running;
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    running.once("error", (error) => {
      process.stderr.write(`with-infra: could not run ${program}: ${error.message}\n`);
      resolve({ code: 127, signal: null });
    });
    running.once("exit", (code, signal) => resolve({ code, signal }));
  });
  await stopAll();
  return exitCodeOf(exit.code, exit.signal);
}

process.exitCode = await main();
