import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TestkitError } from "./errors";
import { brokerJvmArgs, newClusterId, renderLog4jProperties, renderServerProperties } from "./kafka-config";
import { firstErrorLines, tailFile } from "./log-tail";
import { KAFKA_LIBS_SCRIPT } from "./paths";
import { kafkaMetadataAnswers, waitUntil } from "./probes";
import { spawnManaged, type Lifetime, type ManagedProcess } from "./process-guard";
import { findExecutable } from "./binaries";
import { runCommand } from "./child-command";

export interface KafkaBrokerOptions {
  javaBin: string;
  libsDir: string;
  host: string;
  port: number;
  controllerPort: number;
  /** server.properties, log4j config, broker.log and the log dirs (data/) live here. */
  dir: string;
  lifetime: Lifetime;
  maxHeapMb?: number;
  readyTimeoutMs?: number;
  /** A node of a cluster: its id, the quorum's voters, the cluster's id (each node is formatted with it) and settings. */
  cluster?: { nodeId: number; voters: string; clusterId: string; settings: Readonly<Record<string, string>> };
}

/** Written by scripts/lib/kafka-libs.sh once every jar is in place. */
const COMPLETE_MARKER = ".complete";

export function kafkaLibsReady(libsDir: string): boolean {
  return existsSync(join(libsDir, COMPLETE_MARKER)) && readdirSync(libsDir).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
}

/** Resolves the broker's jars with Maven on first use, the same way scripts/ensure-deps does. */
export async function ensureKafkaLibs(libsDir: string, log: (line: string) => void): Promise<void> {
  if (kafkaLibsReady(libsDir)) return;
  if (!findExecutable("mvn", process.env.PATH)) {
    throw new TestkitError(
      "MISSING_DEPENDENCY",
      `Kafka jars missing in ${libsDir} and Maven (mvn) is not installed: run bash scripts/ensure-deps`,
      "MLSD_KAFKA_LIBS",
    );
  }
  log(`kafka: resolving the broker's jars from Maven Central into ${libsDir} (once)`);
  const { code, output } = await runCommand("bash", [KAFKA_LIBS_SCRIPT], { ...process.env, MLSD_KAFKA_LIBS: libsDir });
  if (code !== 0 || !kafkaLibsReady(libsDir)) {
    throw new TestkitError("MISSING_DEPENDENCY", `resolving the Kafka jars failed (exit ${code}):\n${output.slice(-2000)}`);
  }
}

function classpath(libsDir: string): string {
  return `${libsDir}/*`;
}

/** Writes the config and formats the storage on first start; later starts reuse both. */
async function prepare(options: KafkaBrokerOptions): Promise<{ propsFile: string; log4jFile: string; logFile: string }> {
  const dataDir = join(options.dir, "data");
  mkdirSync(dataDir, { recursive: true });
  const propsFile = join(options.dir, "server.properties");
  const log4jFile = join(options.dir, "log4j.properties");
  const logFile = join(options.dir, "broker.log");
  writeFileSync(
    propsFile,
    renderServerProperties({
      host: options.host,
      port: options.port,
      controllerPort: options.controllerPort,
      logDir: dataDir,
      ...(options.cluster ? { nodeId: options.cluster.nodeId, voters: options.cluster.voters, overrides: options.cluster.settings } : {}),
    }),
  );
  writeFileSync(log4jFile, renderLog4jProperties(logFile));
  if (!existsSync(join(dataDir, "meta.properties"))) {
    const { code, output } = await runCommand(
      options.javaBin,
      [...brokerJvmArgs({ log4jFile, maxHeapMb: 256 }), "-cp", classpath(options.libsDir), "kafka.tools.StorageTool", "format", "-t", options.cluster?.clusterId ?? newClusterId(), "-c", propsFile],
      process.env,
    );
    if (code !== 0) throw new TestkitError("START_FAILED", `kafka storage format failed (exit ${code}):\n${output.slice(-2000)}`);
  }
  return { propsFile, log4jFile, logFile };
}

/** The broker's java arguments, once `prepare` has written its config into `options.dir`. */
export function kafkaBrokerArgs(options: Pick<KafkaBrokerOptions, "dir" | "libsDir" | "maxHeapMb">): string[] {
  return [
    ...brokerJvmArgs({ log4jFile: join(options.dir, "log4j.properties"), maxHeapMb: options.maxHeapMb }),
    `-Dkafka.logs.dir=${options.dir}`,
    "-cp", classpath(options.libsDir),
    "kafka.Kafka", join(options.dir, "server.properties"),
  ];
}

export async function launchKafkaBroker(options: KafkaBrokerOptions): Promise<ManagedProcess> {
  const { logFile } = await prepare(options);
  const proc = spawnManaged({
    command: options.javaBin,
    args: kafkaBrokerArgs(options),
    cwd: options.dir,
    logFile: join(options.dir, "broker.stdout.log"),
    lifetime: options.lifetime,
  });
  const brokers = [`${options.host}:${options.port}`];
  try {
    await waitUntil(() => kafkaMetadataAnswers(brokers), {
      what: `kafka broker on ${brokers[0]}`,
      timeoutMs: options.readyTimeoutMs ?? 120_000,
      intervalMs: 250,
      failure: () =>
        proc.exit
          ? `exited (${JSON.stringify(proc.exit)}). Its first errors:\n${firstErrorLines(logFile)}\nIts last lines:\n${tailFile(logFile, 8)}\n${tailFile(join(options.dir, "broker.stdout.log"), 5)}`
          : undefined,
    });
  } catch (error) {
    await proc.stop(5_000);
    throw new TestkitError("START_FAILED", (error as Error).message);
  }
  return proc;
}
